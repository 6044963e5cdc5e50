//! The placement options of the dict config, read and validated as a whole:
//! `"tags": "strip" | "keep"` (default `"strip"`, the contract) and `"routing_rules": [regex,
//! ...]` (default none). See `placement::rules` and `placement::tags` for what they do.

use serde_json::{Map, Value};

use super::error::ConfigError;
use super::types::ClusterConfig;
use crate::placement::{Placement, RoutingRules, TagMode};

/// The top-level options this module reads.
pub const PLACEMENT_OPTIONS: [&str; 2] = ["tags", "routing_rules"];

/// The placement a top-level config map asks for.
pub fn parse(top: &Map<String, Value>) -> Result<Placement, ConfigError> {
    let tags = match top.get("tags") {
        None | Some(Value::Null) => TagMode::default(),
        Some(Value::String(name)) => {
            TagMode::from_name(name).ok_or_else(|| bad_tags(&format!("'{name}'")))?
        }
        Some(other) => return Err(bad_tags(&describe(other))),
    };
    let rules = match top.get("routing_rules") {
        None | Some(Value::Null) => RoutingRules::default(),
        Some(Value::Array(items)) => {
            let mut texts = Vec::with_capacity(items.len());
            for (at, item) in items.iter().enumerate() {
                match item {
                    Value::String(text) => texts.push(text.as_str()),
                    other => {
                        return Err(ConfigError::WrongType {
                            at: format!("'routing_rules' rule {}", at + 1),
                            expected: "a regular expression (text)",
                            got: describe(other),
                        });
                    }
                }
            }
            RoutingRules::new(&texts)?
        }
        Some(other) => {
            return Err(ConfigError::WrongType {
                at: "'routing_rules'".to_owned(),
                expected: "a list of regular expressions, tried in order, the first group (or the group named 'route') routing the key",
                got: describe(other),
            });
        }
    };
    Ok(Placement::new(tags, rules))
}

/// The Rust builder, named as the dict's keys are.
impl ClusterConfig {
    /// `tags`: what a hash tag does (`TagMode::Strip`, the default, or `TagMode::Keep`).
    pub fn tags(mut self, mode: TagMode) -> ClusterConfig {
        self.placement.tags = mode;
        self
    }

    /// `routing_rules`: these rules, in order, instead of any given before; a rule that cannot
    /// route is the error, naming it by number and text.
    pub fn routing_rules<S: AsRef<str>>(
        mut self,
        rules: &[S],
    ) -> Result<ClusterConfig, ConfigError> {
        self.placement.rules = RoutingRules::new(rules)?;
        Ok(self)
    }
}

/// `previous` describes the masters before a reshard, placed the same way: it may not choose
/// a placement of its own.
pub fn refuse_in_previous(old: &Value) -> Result<(), ConfigError> {
    match PLACEMENT_OPTIONS
        .iter()
        .find(|option| old.get(**option).is_some_and(|v| !v.is_null()))
    {
        Some(option) => Err(ConfigError::WrongType {
            at: format!("'previous': '{option}'"),
            expected: "no placement option: the cluster before a reshard is placed as the config's own 'tags' and 'routing_rules' say",
            got: format!("'{option}'"),
        }),
        None => Ok(()),
    }
}

fn bad_tags(got: &str) -> ConfigError {
    ConfigError::WrongType {
        at: "'tags'".to_owned(),
        expected: "\"strip\" (the default: bar{foo} is stored as bar) or \"keep\" (routed by Redis Cluster's tag, stored under the full name)",
        got: got.to_owned(),
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("'{s}'"),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "a map".to_owned(),
        Value::Null => "nothing".to_owned(),
    }
}
