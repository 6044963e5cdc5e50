//! The placement options of the dict config, read and validated as a whole:
//! `"tags": "strip" | "keep"` (default `"strip"`, the contract), `"routing_rules": [regex,
//! ...]` (default none) and `"distribution"` (default `"crc32"`, see `distribution.rs`). See
//! `placement::rules`, `placement::tags` and `placement::distribution` for what they do.

use serde_json::{Map, Value};

use super::distribution::{self, describe};
use super::error::ConfigError;
use super::types::{ClusterConfig, NodeConfig, PreviousPlacement};
use crate::placement::{DistributionSpec, Placement, RoutingRules, TagMode};

/// The top-level options this module reads.
pub const PLACEMENT_OPTIONS: [&str; 2] = ["tags", "routing_rules"];

/// The placement a top-level config map asks for, over its masters (in placement order).
pub fn parse(
    top: &Map<String, Value>,
    nodes: &Map<String, Value>,
    masters: &[NodeConfig],
) -> Result<Placement, ConfigError> {
    let spec = distribution::parse_spec(top)?.unwrap_or_default();
    if spec.is_compatible() && top.get("tags").is_some_and(|t| !t.is_null()) {
        return Err(ConfigError::Distribution {
            at: "'tags'".to_owned(),
            problem: format!(
                "the '{}' distribution has its own tag rule and stores keys under their full names, as the peer does: leave 'tags' out",
                spec.name()
            ),
        });
    }
    let ring = distribution::ring_nodes(&spec, nodes, masters)?;
    let built = distribution::build(&spec, &ring, masters, "'distribution'")?;
    Ok(parse_tags_and_rules(top)?.with_distribution(spec, built))
}

/// `tags` and `routing_rules`, over `crc32`.
fn parse_tags_and_rules(top: &Map<String, Value>) -> Result<Placement, ConfigError> {
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

    /// `distribution`: place keys by this distribution (its masters' ring names `host:port`,
    /// default weights, even slots). The config's `previous`, if any, keeps its own.
    pub fn distribution(mut self, spec: DistributionSpec) -> Result<ClusterConfig, ConfigError> {
        let ring = distribution::ring_nodes(&spec, &Map::new(), &self.masters)?;
        let built = distribution::build(&spec, &ring, &self.masters, "'distribution'")?;
        self.placement = self.placement.with_distribution(spec, built);
        Ok(self)
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

/// `previous` describes the masters before a reshard, with the config's routing rules: it may
/// not name its own, nor a tag mode without naming its distribution too.
pub fn refuse_in_previous(old: &Value) -> Result<(), ConfigError> {
    let given = |option: &str| old.get(option).is_some_and(|v| !v.is_null());
    let refuse = |option: &str, expected: &'static str| ConfigError::WrongType {
        at: format!("'previous': '{option}'"),
        expected,
        got: format!("'{option}'"),
    };
    if given("routing_rules") {
        return Err(refuse(
            "routing_rules",
            "no 'routing_rules': the cluster before a reshard uses the config's own",
        ));
    }
    if given("tags") && !given(distribution::OPTION) {
        return Err(refuse(
            "tags",
            "'tags' only with the 'distribution' the cluster before the reshard used",
        ));
    }
    Ok(())
}

/// `previous`'s own placement, from its parsed config: its distribution and, if it named
/// one, its tag mode.
pub fn previous_distribution(old: &Value, parsed: &Placement) -> PreviousPlacement {
    PreviousPlacement {
        tags: old
            .get("tags")
            .filter(|t| !t.is_null())
            .map(|_| parsed.tags),
        rules: None,
        spec: parsed.spec.clone(),
        distribution: parsed.distribution.clone(),
    }
}

/// A config whose `previous` names no distribution while the config names another than
/// `crc32`: refused rather than guessed (the old masters may well have used crc32).
pub fn previous_names_its_distribution(
    ours: &DistributionSpec,
    old: &Value,
) -> Result<(), ConfigError> {
    let named = old.get(distribution::OPTION).is_some_and(|v| !v.is_null());
    if *ours != DistributionSpec::Crc32 && !named {
        return Err(ConfigError::Distribution {
            at: "'previous'".to_owned(),
            problem: format!(
                "name the 'distribution' the masters before the reshard used (this config's is '{}'; write \"distribution\": \"crc32\" for a deployment that used the default)",
                ours.name()
            ),
        });
    }
    Ok(())
}

impl ClusterConfig {
    /// Refuses a `previous` that stores keys under other names than this config (a reshard
    /// moves keys, it does not rename them). A move into a Redis Cluster renames them: the
    /// window reads each key under its old name (`executor/window.rs`), `rediscluster copy`
    /// and `reshard` write it under its full one.
    pub fn check_previous(&self) -> Result<(), ConfigError> {
        if self.previous.is_none() || self.redis_cluster {
            return Ok(());
        }
        let (current, previous) = (&self.placement, self.previous_placement());
        if previous.names_like(current) {
            return Ok(());
        }
        Err(ConfigError::Distribution {
            at: "'previous'".to_owned(),
            problem: format!(
                "{} but this config's {}: a reshard cannot rename keys (use 'tags': 'keep' with 'crc32' or 'elastic' to move from or to a compatible distribution)",
                previous.naming(),
                current.naming()
            ),
        })
    }
}

fn bad_tags(got: &str) -> ConfigError {
    ConfigError::WrongType {
        at: "'tags'".to_owned(),
        expected: "\"strip\" (the default: bar{foo} is stored as bar) or \"keep\" (routed by Redis Cluster's tag, stored under the full name)",
        got: got.to_owned(),
    }
}
