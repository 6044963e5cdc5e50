//! `CFG` as the commands take it: a JSON or TOML file (or JSON text) with the seed's shape
//! (`{"nodes": {"node_1": {"host": ..., "port": ...}}, "master_of": ...}`), or a comma-separated
//! list of `redis://` URLs (`node_1` first). Validated whole by the core before anything
//! connects.

use std::path::Path;

use cluster_core::ClusterConfig;

use crate::error::ToolError;

/// Reads a cluster config from `spec`: a file path, URLs, or the JSON text itself. Client-side
/// shards only: the tools that read servers directly (info, check, plan, grow, and the source
/// of copy and reshard) do not take a Redis Cluster (`redis-cli --cluster` serves it).
pub fn load(spec: &str) -> Result<ClusterConfig, ToolError> {
    let config = load_with_distribution(spec, None)?;
    shards_only(&config)?;
    Ok(config)
}

/// A destination of `copy` or `reshard`: client-side shards or a Redis Cluster, without
/// `previous` (the online window is the clients'; the tools read the source themselves).
pub fn load_destination(spec: &str) -> Result<ClusterConfig, ToolError> {
    let config = load_with_distribution(spec, None)?;
    match config.previous {
        Some(_) => Err(ToolError::Config(
            "the destination's config names 'previous': give the tools the destination alone (the online window is for the clients)".to_owned(),
        )),
        None => Ok(config),
    }
}

/// Refuses a config naming a Redis Cluster, for the tools that place keys over the configured
/// masters themselves.
pub fn shards_only(config: &ClusterConfig) -> Result<(), ToolError> {
    match config.redis_cluster {
        true => Err(ToolError::Config(
            "this tool works on client-side shards; a Redis Cluster ('redis_cluster') is taken only as the destination of copy and reshard".to_owned(),
        )),
        false => Ok(()),
    }
}

/// The same, with its `distribution` replaced by `distribution` (a name, or a JSON map with
/// `name` and the distribution's options) when one is given.
pub fn load_with_distribution(
    spec: &str,
    distribution: Option<&str>,
) -> Result<ClusterConfig, ToolError> {
    let spec = spec.trim();
    let chosen = distribution.map(distribution_value).transpose()?;
    if is_urls(spec) {
        let urls: Vec<&str> = spec.split(',').map(str::trim).collect();
        let config =
            ClusterConfig::from_urls(&urls).map_err(|e| ToolError::Config(e.to_string()))?;
        return match chosen {
            Some(value) => cluster_core::config::parse_distribution(&value)
                .and_then(|d| config.distribution(d))
                .map_err(|e| ToolError::Config(e.to_string())),
            None => Ok(config),
        };
    }
    let mut value = load_value(spec)?;
    if let (Some(chosen), Some(top)) = (chosen, value.as_object_mut()) {
        top.insert("distribution".to_owned(), chosen);
    }
    // A file is named in the error; JSON text is not quoted back (it may hold a password).
    let label = if spec.starts_with('{') {
        String::new()
    } else {
        format!("{spec}: ")
    };
    ClusterConfig::from_value(&value).map_err(|e| ToolError::Config(format!("{label}{e}")))
}

fn is_urls(spec: &str) -> bool {
    spec.starts_with("redis://") || spec.starts_with("rediss://")
}

/// `--distribution`: JSON when it is a map, else a name.
fn distribution_value(text: &str) -> Result<serde_json::Value, ToolError> {
    let text = text.trim();
    if text.starts_with('{') {
        serde_json::from_str(text)
            .map_err(|e| ToolError::Config(format!("--distribution: invalid JSON: {e}")))
    } else {
        Ok(serde_json::Value::String(text.to_owned()))
    }
}

/// The config as written (a JSON map), from a JSON or TOML file or the JSON text itself.
pub fn load_value(spec: &str) -> Result<serde_json::Value, ToolError> {
    let spec = spec.trim();
    if spec.starts_with('{') {
        return serde_json::from_str(spec)
            .map_err(|e| ToolError::Config(format!("invalid JSON: {e}")));
    }
    if is_urls(spec) {
        return Err(ToolError::Config(
            "this command needs the config as a file (or JSON text), not URLs".to_owned(),
        ));
    }
    let path = Path::new(spec);
    let text = std::fs::read_to_string(path)
        .map_err(|e| ToolError::Config(format!("cannot read the cluster config {spec}: {e}")))?;
    let value: serde_json::Value = if path.extension().is_some_and(|e| e == "toml") {
        let parsed: toml::Value = toml::from_str(&text)
            .map_err(|e| ToolError::Config(format!("{spec}: invalid TOML: {e}")))?;
        serde_json::to_value(parsed).map_err(|e| ToolError::Config(format!("{spec}: {e}")))?
    } else {
        serde_json::from_str(&text)
            .map_err(|e| ToolError::Config(format!("{spec}: invalid JSON: {e}")))?
    };
    Ok(value)
}
