//! `rediscluster info` (the topology as the client sees it) and `rediscluster check` (every
//! node reachable, replicas and their link and lag, keys per node, and keys that sit on a node
//! their stored name does not hash to: misplaced, or placed there by a hash tag).

use cluster_core::placement::master_index;
use cluster_core::{Cluster, ClusterConfig, NodeConfig};
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
    /// Keys whose stored name hashes to another master (misplaced, or placed by a tag).
    pub foreign_keys: Option<u64>,
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

/// Checks every master of `config` (and, with `scan`, every key's placement).
pub fn check(config: &ClusterConfig, scan: bool) -> Vec<NodeReport> {
    let masters = config.masters.len();
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
                    foreign += keys
                        .iter()
                        .filter(|k| master_index(k, masters) != index)
                        .count() as u64;
                    cursor = next;
                    if cursor == 0 {
                        report.foreign_keys = Some(foreign);
                        break;
                    }
                }
            }
            report
        })
        .collect()
}
