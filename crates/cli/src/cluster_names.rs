//! Into a Redis Cluster: the name a key takes there, and the engine that writes it. A
//! client-side deployment strips hash tags from stored names by default (`bar{foo}` is stored
//! as `bar` on foo's node); a Redis Cluster stores the full name the client writes, placed by
//! its slot. So a key found on an old master under a stored name goes to the cluster under the
//! name the client wrote, recovered as follows:
//!
//! * `--tag-rule` matches the stored name and its first group is the tag: `stored{tag}`,
//!   when the old placement puts that name on this master, stored as found;
//! * else the stored name itself, when the old placement stores and places it so (it was
//!   written by name; with tags kept or a routing rule's key, the stored name is the key);
//! * else the key cannot be named from what is stored: `None`, unless `by_name` says to take
//!   the stored name as it is.
//!
//! The clients' online window (`previous`) reads a key not moved yet under the name the old
//! placement gives it: the same key both ways.

use cluster_core::{Cluster, ClusterConfig};
use regex::bytes::Regex;

use crate::error::ToolError;

/// How stored names are recovered (see the module doc).
#[derive(Clone, Copy)]
pub struct Naming<'a> {
    pub tag_rule: Option<&'a Regex>,
    /// Take a stored name that cannot be recovered otherwise as it is.
    pub by_name: bool,
}

impl Naming<'_> {
    /// How a job's name records these choices: a state file is only resumed by the same job.
    pub fn fingerprint(&self) -> String {
        format!(
            "rule {}{}",
            self.tag_rule.map_or("-", Regex::as_str),
            if self.by_name {
                " route-untagged-by-name"
            } else {
                ""
            }
        )
    }
}

/// The name the key stored as `stored` on `from`'s master `index` has in a Redis Cluster.
pub fn name_in_cluster(
    stored: &[u8],
    index: usize,
    from: &ClusterConfig,
    naming: Naming<'_>,
) -> Option<Vec<u8>> {
    let masters = from.masters.len();
    // A name is the key's when the old placement stores it as found, where it was found.
    let is_the_key = |name: &[u8]| {
        let placed = from.placement.place(name, masters);
        placed.stored == stored && placed.shard == index
    };
    if let Some(tag) = naming
        .tag_rule
        .and_then(|rule| rule.captures(stored))
        .and_then(|found| found.get(1))
    {
        let tagged = [stored, b"{", tag.as_bytes(), b"}"].concat();
        if is_the_key(&tagged) {
            return Some(tagged);
        }
    }
    (naming.by_name || is_the_key(stored)).then(|| stored.to_vec())
}

/// The engine over the destination, when it is a Redis Cluster: it places every key by its
/// slot and follows the cluster's redirects (a slot moving meanwhile). Masters only.
pub fn engine(to: &ClusterConfig) -> Result<Option<Cluster>, ToolError> {
    if !to.redis_cluster {
        return Ok(None);
    }
    let mut config = to.clone();
    config.masters_only = true;
    Cluster::new(config)
        .map(Some)
        .map_err(|e| ToolError::Cluster(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(masters: usize, extra: serde_json::Value) -> ClusterConfig {
        let mut config = serde_json::json!({"nodes": {}});
        for i in 0..masters {
            config["nodes"][format!("node_{}", i + 1)] =
                serde_json::json!({"host": "127.0.0.1", "port": 7000 + i});
        }
        if let (Some(map), Some(more)) = (config.as_object_mut(), extra.as_object()) {
            map.extend(more.clone());
        }
        ClusterConfig::from_value(&config).unwrap()
    }

    #[test]
    fn recovers_the_written_name() {
        let from = deployment(3, serde_json::json!({}));
        let rule = Regex::new(r"^(user:\d+):").unwrap();
        let naming = Naming {
            tag_rule: Some(&rule),
            by_name: false,
        };
        let index_of = |key: &str| from.placement.master_index(key.as_bytes(), 3);
        // Written tagged: the rule recovers the tag where it placed the key.
        let written = "user:42:profile{user:42}";
        let found = name_in_cluster(b"user:42:profile", index_of(written), &from, naming);
        assert_eq!(found.as_deref(), Some(written.as_bytes()));
        // Written by name: found where its name places it, under that name.
        let plain = "session:9";
        let found = name_in_cluster(plain.as_bytes(), index_of(plain), &from, naming);
        assert_eq!(found.as_deref(), Some(plain.as_bytes()));
        // On a master neither its name nor the rule places it on: not named, unless by name.
        let elsewhere = (index_of(plain) + 1) % 3;
        assert_eq!(
            name_in_cluster(plain.as_bytes(), elsewhere, &from, naming),
            None
        );
        let by_name = Naming {
            by_name: true,
            ..naming
        };
        let found = name_in_cluster(plain.as_bytes(), elsewhere, &from, by_name);
        assert_eq!(found.as_deref(), Some(plain.as_bytes()));
        // A stored name that looks tagged was not written by name under tag stripping.
        let looks_tagged = "a{b}";
        let index = index_of("b");
        assert_eq!(
            name_in_cluster(looks_tagged.as_bytes(), index, &from, naming),
            None
        );
        // Names kept: the stored name is the key.
        let kept = deployment(3, serde_json::json!({"tags": "keep"}));
        let key = "x{tag}y";
        let index = kept.placement.master_index(key.as_bytes(), 3);
        let found = name_in_cluster(key.as_bytes(), index, &kept, naming);
        assert_eq!(found.as_deref(), Some(key.as_bytes()));
    }
}
