//! `CFG` as the commands take it: a JSON or TOML file (or JSON text) with the seed's shape
//! (`{"nodes": {"node_1": {"host": ..., "port": ...}}, "master_of": ...}`), or a comma-separated
//! list of `redis://` URLs (`node_1` first). Validated whole by the core before anything
//! connects.

use std::path::Path;

use cluster_core::ClusterConfig;

use crate::error::ToolError;

/// Reads a cluster config from `spec`: a file path, URLs, or the JSON text itself.
pub fn load(spec: &str) -> Result<ClusterConfig, ToolError> {
    let spec = spec.trim();
    if spec.starts_with('{') {
        return ClusterConfig::from_json(spec).map_err(|e| ToolError::Config(e.to_string()));
    }
    if spec.starts_with("redis://") || spec.starts_with("rediss://") {
        let urls: Vec<&str> = spec.split(',').map(str::trim).collect();
        return ClusterConfig::from_urls(&urls).map_err(|e| ToolError::Config(e.to_string()));
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
    ClusterConfig::from_value(&value).map_err(|e| ToolError::Config(format!("{spec}: {e}")))
}
