//! `rediscluster grow --cluster CFG --add host:port ...`: the same `elastic` deployment with more
//! masters. Each new master takes an even share of the slots from the masters that own the
//! most, so only those slots move (8 → 9 masters: 1/9 of the keys, the least any placement can
//! move). Prints the new config (the old one with every master's `slots` written out and the
//! new masters added): give it to `plan` and `reshard` as `--to`, and to the clients with the
//! old masters as `previous` for the online window.

use cluster_core::ClusterConfig;
use cluster_core::placement::distribution::elastic::format_ranges;
use serde_json::Value;

use crate::error::ToolError;

/// The grown config, from the old one as written (a JSON map) and the new masters' addresses.
pub fn grow(config: &Value, add: &[String]) -> Result<Value, ToolError> {
    let parsed = ClusterConfig::from_value(config).map_err(|e| ToolError::Config(e.to_string()))?;
    if parsed.redis_cluster {
        return Err(ToolError::Config(
            "a Redis Cluster grows by itself (redis-cli --cluster add-node, then redis-cli --cluster reshard); clients follow its map with no config change".to_owned(),
        ));
    }
    let Some(table) = parsed.placement.distribution.slot_table() else {
        return Err(ToolError::Config(format!(
            "grow changes an 'elastic' config, and this one is '{}': to move a deployment onto elastic slots, write its elastic config and run reshard --from the old one --to it",
            parsed.placement.spec.name()
        )));
    };
    if parsed.previous.is_some() {
        return Err(ToolError::Config(
            "the config still names a 'previous' deployment: finish that reshard (and drop 'previous') before growing again".to_owned(),
        ));
    }
    if add.is_empty() {
        return Err(ToolError::Config("--add at least one host:port".to_owned()));
    }
    let grown = table.grown(add.len());
    let ranges = grown.ranges();
    let mut out = config.clone();
    let nodes = out["nodes"]
        .as_object_mut()
        .ok_or_else(|| ToolError::Config("the config has no 'nodes' map".to_owned()))?;
    for (master, own) in parsed.masters.iter().zip(&ranges) {
        nodes[&master.name]["slots"] = Value::String(format_ranges(own));
    }
    for (offset, addr) in add.iter().enumerate() {
        let name = format!("node_{}", parsed.masters.len() + offset + 1);
        if nodes.contains_key(&name) {
            return Err(ToolError::Config(format!(
                "the config already has a node named {name} (a replica?): new masters are named node_{}..",
                parsed.masters.len() + 1
            )));
        }
        let (host, port) = addr
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h.trim_matches(['[', ']']), p.parse::<u16>().ok()?)))
            .ok_or_else(|| ToolError::Config(format!("--add {addr}: expected host:port")))?;
        nodes.insert(
            name,
            serde_json::json!({
                "host": host,
                "port": port,
                "slots": format_ranges(&ranges[parsed.masters.len() + offset]),
            }),
        );
    }
    // The result must be a valid config, with the new masters at addresses not yet used.
    ClusterConfig::from_value(&out).map_err(|e| ToolError::Config(e.to_string()))?;
    Ok(out)
}
