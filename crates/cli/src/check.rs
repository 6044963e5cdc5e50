//! `rediscluster info` (the topology as the client sees it) and `rediscluster check` (every
//! node reachable, replicas and their link and lag, keys per node, keys that sit on a node
//! their stored name does not place them on (misplaced, or placed there by a hash tag), and
//! stored names that exist on more than one master).
//!
//! What the servers show of the default mode's hazard (`tags: "strip"`: `LIMITS:{a}` and
//! `LIMITS:{b}` are both stored as `LIMITS:`): a stored name on several masters was written by
//! keys with different tags (or is a stale copy): a certain collision of names, each copy a
//! different key. Two tagged keys whose tags share a master leave one key behind, which no
//! server can tell apart from one key: the `not placed` count (names sitting where their own
//! name does not hash, which in strip mode means placed by a tag) says how many names a tag
//! placed, and so how many could be such a collision.

use std::collections::BTreeSet;

use cluster_core::placement::Placement;
use cluster_core::{Cluster, ClusterConfig, NodeConfig, NodeConnection};
use serde::Serialize;

use crate::error::ToolError;
use crate::nodes::connect;

#[derive(Clone, Debug, Serialize)]
pub struct NodeInfo {
    pub name: String,
    pub addr: String,
    pub db: i64,
    pub replicas: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Topology {
    pub masters: Vec<NodeInfo>,
    pub masters_only: bool,
    /// Replicas named by `master_of` (else discovered through INFO replication).
    pub explicit_replicas: bool,
}

/// How long the tools wait for a client's first replica check (it discovers the replicas).
const FIRST_CHECK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The masters in placement order with the replicas the client would read from.
pub fn info(config: &ClusterConfig) -> Result<Topology, ToolError> {
    let cluster = Cluster::new(config.clone()).map_err(|e| ToolError::Config(e.to_string()))?;
    // Discovered replicas are known once the first check has run.
    cluster.wait_for_replica_check(FIRST_CHECK_WAIT);
    Ok(Topology {
        masters: config
            .masters
            .iter()
            .map(|m| NodeInfo {
                name: m.name.clone(),
                addr: m.addr(),
                db: m.db,
                replicas: cluster
                    .replicas_of(&m.name)
                    .iter()
                    .map(NodeConfig::addr)
                    .collect(),
            })
            .collect(),
        masters_only: config.masters_only,
        explicit_replicas: config.explicit_replicas,
    })
}

#[derive(Clone, Debug, Serialize)]
pub struct ReplicaReport {
    pub addr: String,
    /// `master_link_status` as the replica reports it (`up`, `down`), or the error reaching it.
    pub link: String,
    /// Replication offset behind its master, in bytes (when both answered).
    pub lag_bytes: Option<i64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct NodeReport {
    pub name: String,
    pub addr: String,
    pub reachable: bool,
    pub error: Option<String>,
    pub keys: Option<u64>,
    /// Keys whose stored name places them on another master (misplaced, or placed by a tag).
    pub foreign_keys: Option<u64>,
    /// Of those, stored names that also exist on another master: keys with different tags
    /// stored under one name (or a stale copy).
    pub shared_names: Option<u64>,
    /// A few of them, as text.
    pub shared_examples: Vec<String>,
    pub replicas: Vec<ReplicaReport>,
}

impl NodeReport {
    pub fn healthy(&self) -> bool {
        self.reachable && self.replicas.iter().all(|r| r.link == "up")
    }
}

fn info_field(info: &str, name: &str) -> Option<String> {
    info.lines()
        .find_map(|line| line.trim().strip_prefix(name)?.strip_prefix(':'))
        .map(str::to_owned)
}

/// The master a stored name belongs on under `placement`. A name the client stored under the
/// key itself (a routing rule's key, or any key with tags kept) is placed as the client
/// places it; a name in the default mode is either a key without a tag or the part before a
/// stripped tag, so its own hash is all it shows.
fn home_of(placement: &Placement, stored: &[u8], masters: usize) -> usize {
    if placement.stores_as_written(stored) {
        placement.master_index(stored, masters)
    } else {
        placement.route_index(stored, masters)
    }
}

/// How many shared names a report lists.
const SHARED_EXAMPLES: usize = 5;

/// Which of `names` (keys on master `index`) also exist on another master; `None` when a master
/// could not be asked (never reached, or its answer lost: its connection is dropped), since a
/// partial answer would read as "no shared names".
fn on_other_masters(
    names: &[Vec<u8>],
    index: usize,
    others: &mut [Option<NodeConnection>],
) -> Option<BTreeSet<Vec<u8>>> {
    let mut shared = BTreeSet::new();
    if names.is_empty() {
        return Some(shared);
    }
    for (other, slot) in others.iter_mut().enumerate() {
        if other == index {
            continue;
        }
        let connection = slot.as_mut()?;
        let mut pipe = redis::pipe();
        for name in names {
            pipe.cmd("EXISTS").arg(name);
        }
        match pipe.query::<Vec<bool>>(connection) {
            Ok(found) => shared.extend(
                names
                    .iter()
                    .zip(found)
                    .filter(|(_, f)| *f)
                    .map(|(n, _)| n.clone()),
            ),
            Err(_) => {
                // Its replies may still be on the way: not to be read as the next batch's.
                *slot = None;
                return None;
            }
        }
    }
    Some(shared)
}

/// Checks every master of `config` (and, with `scan`, every key's placement).
pub fn check(config: &ClusterConfig, scan: bool) -> Vec<NodeReport> {
    let masters = config.masters.len();
    // A second connection to every master, asked whether a name found elsewhere is there too.
    let mut others: Vec<Option<NodeConnection>> = match scan {
        true => config.masters.iter().map(|m| connect(m).ok()).collect(),
        false => Vec::new(),
    };
    let cluster = Cluster::new(config.clone()).ok();
    if let Some(cluster) = &cluster {
        cluster.wait_for_replica_check(FIRST_CHECK_WAIT);
    }
    config
        .masters
        .iter()
        .enumerate()
        .map(|(index, master)| {
            let mut report = NodeReport {
                name: master.name.clone(),
                addr: master.addr(),
                reachable: false,
                error: None,
                keys: None,
                foreign_keys: None,
                shared_names: None,
                shared_examples: Vec::new(),
                replicas: Vec::new(),
            };
            let mut connection = match connect(master) {
                Ok(c) => c,
                Err(e) => {
                    report.error = Some(e.to_string());
                    return report;
                }
            };
            report.reachable = true;
            report.keys = redis::cmd("DBSIZE").query(&mut connection).ok();
            let master_offset: Option<i64> = redis::cmd("INFO")
                .arg("replication")
                .query::<String>(&mut connection)
                .ok()
                .and_then(|i| info_field(&i, "master_repl_offset"))
                .and_then(|o| o.parse().ok());
            let replicas = cluster
                .as_ref()
                .map(|c| c.replicas_of(&master.name))
                .unwrap_or_default();
            for replica in replicas {
                let (link, offset) = match connect(&replica).and_then(|mut c| {
                    redis::cmd("INFO")
                        .arg("replication")
                        .query::<String>(&mut c)
                        .map_err(|e| ToolError::node(&replica, &e))
                }) {
                    Ok(info) => (
                        info_field(&info, "master_link_status")
                            .unwrap_or_else(|| "not a replica".to_owned()),
                        info_field(&info, "slave_repl_offset").and_then(|o| o.parse::<i64>().ok()),
                    ),
                    Err(e) => (format!("unreachable: {e}"), None),
                };
                report.replicas.push(ReplicaReport {
                    addr: replica.addr(),
                    link,
                    lag_bytes: master_offset.zip(offset).map(|(m, r)| (m - r).max(0)),
                });
            }
            if scan {
                let mut foreign = 0u64;
                // `None` once another master could not be asked: the count would be partial.
                let mut shared = Some(BTreeSet::new());
                let mut cursor = 0u64;
                loop {
                    let Ok((next, keys)) = redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("COUNT")
                        .arg(1000)
                        .query::<(u64, Vec<Vec<u8>>)>(&mut connection)
                    else {
                        break;
                    };
                    // A name on two masters is foreign on at least one of them: asking about
                    // the foreign ones finds every shared name.
                    let away: Vec<Vec<u8>> = keys
                        .into_iter()
                        .filter(|k| home_of(&config.placement, k, masters) != index)
                        .collect();
                    foreign += away.len() as u64;
                    if let Some(found) = shared.as_mut() {
                        match on_other_masters(&away, index, &mut others) {
                            Some(more) => found.extend(more),
                            None => shared = None,
                        }
                    }
                    cursor = next;
                    if cursor == 0 {
                        report.foreign_keys = Some(foreign);
                        report.shared_names = shared.as_ref().map(|s| s.len() as u64);
                        report.shared_examples = shared
                            .iter()
                            .flatten()
                            .take(SHARED_EXAMPLES)
                            .map(|n| String::from_utf8_lossy(n).into_owned())
                            .collect();
                        break;
                    }
                }
            }
            report
        })
        .collect()
}
