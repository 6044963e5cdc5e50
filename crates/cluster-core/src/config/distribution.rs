//! The `distribution` option and the per-master options it reads, validated as a whole:
//!
//! * `"distribution": "crc32"` (the default), `"elastic"`, `"redisarray"`, `"predis"`,
//!   `"twemproxy"`, or a map `{"name": ..., <the distribution's own options>}`:
//!   `redisarray` takes `consistent` (phpredis's `consistent => true`), `twemproxy` takes
//!   `distribution` (`"ketama"`, the default, or `"modula"`), `hash` (default `"fnv1a_64"`)
//!   and `hash_tag` (two characters such as `"{}"`; none by default), as nutcracker does;
//! * per master: `weight` (`predis`: default 100; `twemproxy`: default 1), `ring_name` (the
//!   text the peer hashes for the node: default `host:port`, the form the peers are given;
//!   twemproxy's server name when it has one) and `slots` (`elastic`: `"0-5460,7000"`; when
//!   no master gives any, the slots are split as `redis-cli --cluster create` splits them).

use serde_json::{Map, Value};

use super::error::ConfigError;
use super::types::NodeConfig;
use crate::placement::distribution::elastic::parse_ranges;
use crate::placement::distribution::{
    CONSISTENT_NAME_LIMIT, Dispatch, KeyHash, SlotError, default_server_name, ketama_name_limit,
};
use crate::placement::{Distribution, DistributionSpec, RingNode};

pub const OPTION: &str = "distribution";
/// The largest `weight`: twemproxy's modula gives a server one slot per unit of weight.
const MAX_WEIGHT: u64 = 10_000;
/// The per-node options this module reads.
pub const NODE_OPTIONS: [&str; 3] = ["weight", "ring_name", "slots"];

const EXPECTED_NAMES: &str =
    "'crc32' (the default), 'elastic', 'redisarray', 'predis' or 'twemproxy'";

/// The distribution a top-level (or `previous`) map asks for; `None` when it names none.
pub fn parse_spec(top: &Map<String, Value>) -> Result<Option<DistributionSpec>, ConfigError> {
    let (name, options) = match top.get(OPTION) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(name)) => (name.as_str(), Map::new()),
        Some(Value::Object(map)) => match map.get("name") {
            Some(Value::String(name)) => (name.as_str(), map.clone()),
            _ => {
                return Err(bad(
                    "'distribution': 'name'",
                    format!("a name is needed: {EXPECTED_NAMES}"),
                ));
            }
        },
        Some(other) => {
            return Err(bad(
                "'distribution'",
                format!(
                    "expected {EXPECTED_NAMES}, or a map with 'name' and its options; got {}",
                    describe(other)
                ),
            ));
        }
    };
    let allowed: &[&str] = match name {
        "crc32" | "elastic" | "predis" => &["name"],
        "redisarray" => &["name", "consistent"],
        "twemproxy" => &["name", "distribution", "hash", "hash_tag"],
        other => {
            return Err(bad(
                "'distribution'",
                format!("unknown distribution '{other}': expected {EXPECTED_NAMES}"),
            ));
        }
    };
    if let Some(option) = options.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(bad(
            "'distribution'",
            match &allowed[1..] {
                [] => format!("'{name}' takes no option (got '{option}')"),
                own => format!(
                    "'{name}' has no option '{option}' (its options: {})",
                    own.join(", ")
                ),
            },
        ));
    }
    let text = |option: &str| -> Result<Option<&str>, ConfigError> {
        match options.get(option) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(bad(
                &format!("'distribution': '{option}'"),
                format!("expected a text, got {}", describe(other)),
            )),
        }
    };
    Ok(Some(match name {
        "crc32" => DistributionSpec::Crc32,
        "elastic" => DistributionSpec::Elastic,
        "predis" => DistributionSpec::Predis,
        "redisarray" => DistributionSpec::RedisArray {
            consistent: match options.get("consistent") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(other) => {
                    return Err(bad(
                        "'distribution': 'consistent'",
                        format!("expected true or false, got {}", describe(other)),
                    ));
                }
            },
        },
        _ => {
            let dispatch = match text("distribution")? {
                None => Dispatch::Ketama,
                Some(d) => Dispatch::from_name(d).ok_or_else(|| {
                    bad(
                        "'distribution': 'distribution'",
                        format!("twemproxy places by 'ketama' or 'modula', got '{d}'"),
                    )
                })?,
            };
            let hash = match text("hash")? {
                None => KeyHash::Fnv1a64,
                Some(h) => KeyHash::from_name(h).ok_or_else(|| {
                    let names: Vec<&str> = KeyHash::ALL.iter().map(|h| h.name()).collect();
                    bad(
                        "'distribution': 'hash'",
                        format!("unknown hash '{h}' (known: {})", names.join(", ")),
                    )
                })?,
            };
            let tag = match text("hash_tag")? {
                None | Some("") => None,
                Some(t) if t.len() == 2 => Some([t.as_bytes()[0], t.as_bytes()[1]]),
                Some(t) => {
                    return Err(bad(
                        "'distribution': 'hash_tag'",
                        format!("two characters (such as \"{{}}\"), got '{t}'"),
                    ));
                }
            };
            DistributionSpec::Twemproxy {
                dispatch,
                hash,
                tag,
            }
        }
    }))
}

/// The masters as the distribution sees them, from their settings in `nodes`: their ring
/// names, weights and slots, each checked against what the distribution uses.
pub fn ring_nodes(
    spec: &DistributionSpec,
    nodes: &Map<String, Value>,
    masters: &[NodeConfig],
) -> Result<Vec<RingNode>, ConfigError> {
    masters
        .iter()
        .map(|master| {
            let settings = nodes.get(&master.name).and_then(Value::as_object);
            let get = |option: &str| {
                settings
                    .and_then(|s| s.get(option))
                    .filter(|v| !v.is_null())
            };
            let at = |option: &str| format!("node '{}': '{option}'", master.name);
            let refuse = |option: &str, purpose: &str| {
                bad(
                    &at(option),
                    format!(
                        "the '{}' distribution has no use for it ({purpose})",
                        spec.name()
                    ),
                )
            };
            let weight = match get("weight") {
                None => None,
                Some(_) if !spec.takes_weights() => {
                    return Err(refuse("weight", "weights are for 'predis' and 'twemproxy'"));
                }
                Some(value) => Some(
                    value
                        .as_u64()
                        .filter(|w| (1..=MAX_WEIGHT).contains(w))
                        .ok_or_else(|| {
                            bad(
                                &at("weight"),
                                format!(
                                    "expected an integer in 1..1000000, got {}",
                                    describe(value)
                                ),
                            )
                        })? as u32,
                ),
            };
            let ring_name = match get("ring_name") {
                None => default_ring_name(spec, master),
                Some(_) if !spec.is_compatible() => {
                    return Err(refuse(
                        "ring_name",
                        "ring names are for 'redisarray', 'predis' and 'twemproxy'",
                    ));
                }
                Some(Value::String(name)) if !name.is_empty() => name.clone(),
                Some(other) => {
                    return Err(bad(
                        &at("ring_name"),
                        format!("expected a non-empty text, got {}", describe(other)),
                    ));
                }
            };
            let slots = match get("slots") {
                None => None,
                Some(_) if *spec != DistributionSpec::Elastic => {
                    return Err(refuse("slots", "slots are for 'elastic'"));
                }
                Some(value) => Some(slot_ranges(&at("slots"), value)?),
            };
            if let Some(limit) = name_limit(spec, masters.len())
                && ring_name.len() > limit
            {
                return Err(bad(
                    &at("ring_name"),
                    format!(
                        "'{ring_name}' is longer than the {limit} bytes the peer hashes correctly (it hashes bytes past its own buffer for longer names): give a shorter 'ring_name'"
                    ),
                ));
            }
            Ok(RingNode {
                ring_name,
                weight,
                slots,
            })
        })
        .collect()
}

/// Builds the distribution over its masters, naming what is wrong with a slot table.
pub fn build(
    spec: &DistributionSpec,
    nodes: &[RingNode],
    masters: &[NodeConfig],
    at: &str,
) -> Result<Distribution, ConfigError> {
    spec.build(nodes).map_err(|e| match e {
        SlotError::Twice {
            slot,
            first,
            second,
        } => bad(
            at,
            format!(
                "slot {slot} is assigned twice (to {} and to {})",
                masters[first].name, masters[second].name
            ),
        ),
        other => bad(at, other.to_string()),
    })
}

/// Whether any node of the map gives an option only a distribution reads (a replica must not).
pub fn node_option_given(settings: &Value) -> Option<&'static str> {
    NODE_OPTIONS
        .iter()
        .find(|o| settings.get(**o).is_some_and(|v| !v.is_null()))
        .copied()
}

/// The longest ring name the peer itself hashes without reading past its buffer, for the
/// rings built from names.
fn name_limit(spec: &DistributionSpec, masters: usize) -> Option<usize> {
    match spec {
        DistributionSpec::RedisArray { consistent: true } => Some(CONSISTENT_NAME_LIMIT),
        DistributionSpec::Twemproxy {
            dispatch: Dispatch::Ketama,
            ..
        } => Some(ketama_name_limit(masters)),
        _ => None,
    }
}

/// The text each peer hashes for a node it was given as `host:port`.
fn default_ring_name(spec: &DistributionSpec, node: &NodeConfig) -> String {
    match spec {
        DistributionSpec::Twemproxy { .. } => default_server_name(&node.host, node.port),
        _ => format!("{}:{}", node.host, node.port),
    }
}

fn slot_ranges(at: &str, value: &Value) -> Result<Vec<(usize, usize)>, ConfigError> {
    let texts: Vec<String> = match value {
        Value::String(s) => vec![s.clone()],
        Value::Number(n) if n.as_u64().is_some() => vec![n.to_string()],
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) if n.as_u64().is_some() => Ok(n.to_string()),
                other => Err(bad(
                    at,
                    format!(
                        "expected slots or ranges such as \"0-5460\", got {}",
                        describe(other)
                    ),
                )),
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(bad(
                at,
                format!(
                    "expected slot ranges such as \"0-5460,7000\", got {}",
                    describe(other)
                ),
            ));
        }
    };
    let mut ranges = Vec::new();
    for text in texts {
        ranges.extend(parse_ranges(&text).map_err(|e| bad(at, e.to_string()))?);
    }
    Ok(ranges)
}

fn bad(at: &str, problem: String) -> ConfigError {
    ConfigError::Distribution {
        at: at.to_owned(),
        problem,
    }
}

/// A short description of a value for the placement and distribution options' errors.
pub(super) fn describe(value: &Value) -> String {
    match value {
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("'{s}'"),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "a map".to_owned(),
        Value::Null => "nothing".to_owned(),
    }
}
