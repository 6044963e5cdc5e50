//! Checks every way of writing a config shares: port numbers, the masters' names, one server
//! per address; how errors describe a value; `host:port` split.

use std::collections::HashMap;

use serde_json::Value;

use super::error::ConfigError;
use super::types::ClusterConfig;

/// A port: an integer (not 7201.5, not "7201", not null or a list) in 1..65535. `given`
/// describes what was written, for the error.
pub fn port_number(
    node: &str,
    as_int: Option<i64>,
    given: impl FnOnce() -> String,
) -> Result<u16, ConfigError> {
    match as_int {
        Some(port) if (1..=65535).contains(&port) => Ok(port as u16),
        _ => Err(ConfigError::BadPort {
            node: node.to_owned(),
            got: given(),
        }),
    }
}

/// The masters in placement order, when they are exactly `node_1..node_N` (each once).
pub fn order_masters<T>(named: Vec<(&str, T)>) -> Result<Vec<T>, ConfigError> {
    let count = named.len();
    let mut slots: Vec<Option<T>> = (0..count).map(|_| None).collect();
    for (name, item) in named {
        let index = name
            .strip_prefix("node_")
            .filter(|digits| !digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|digits| digits.parse::<usize>().ok())
            .filter(|n| (1..=count).contains(n));
        match index {
            Some(n) if slots[n - 1].is_none() => slots[n - 1] = Some(item),
            Some(_) => {
                return Err(ConfigError::MasterNames {
                    count,
                    problem: format!("{name} is given twice"),
                });
            }
            None => {
                return Err(ConfigError::MasterNames {
                    count,
                    problem: format!("'{name}' is not one of them (name replicas in 'master_of')"),
                });
            }
        }
    }
    // With `count` names, each once and all inside 1..=count, every slot is filled.
    Ok(slots
        .into_iter()
        .map(|s| s.expect("every slot filled"))
        .collect())
}

/// No two servers (masters or replicas) at one address.
pub fn unique_addresses(config: &ClusterConfig) -> Result<(), ConfigError> {
    let mut seen: HashMap<String, &str> = HashMap::new();
    for node in config
        .masters
        .iter()
        .chain(config.replicas.iter().flatten())
    {
        let addr = node.addr();
        if let Some(first) = seen.insert(addr.clone(), &node.name) {
            return Err(ConfigError::DuplicateAddress {
                first: first.to_owned(),
                second: node.name.clone(),
                addr,
            });
        }
    }
    Ok(())
}

/// A short description of a value for error messages: its type and, for scalars, the value.
pub fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null (None)".to_owned(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() <= 40 => format!("the text '{s}'"),
        Value::String(_) => "a long text".to_owned(),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "a map".to_owned(),
    }
}

/// `host:port` or `[v6]:port` → (host, port text).
pub fn split_host_port(addr: &str) -> Option<(&str, &str)> {
    if let Some(rest) = addr.strip_prefix('[') {
        return rest.split_once("]:");
    }
    addr.rsplit_once(':')
}
