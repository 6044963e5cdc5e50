//! Who serves what: the masters in placement order, each with its replicas (from `master_of`
//! or, once the health checks have discovered them, from `INFO replication`), which replicas
//! may serve reads right now, and the masters before a reshard (the online window). State only:
//! the checks that change it live in `health/`, the reads that use it in `executor/`.
//!
//! On a Redis Cluster (the config's `redis_cluster`) a key's unit is its slot, and the slot
//! map (`slot_map.rs`, read from the servers by `cluster_map.rs`) says which node serves it;
//! nodes the map names are added as they appear and never removed, so an index stays valid.
//! Elsewhere a unit is a master's index.

pub mod cluster_map;
pub mod progress;
pub mod slot_map;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::config::{ClusterConfig, NodeConfig};
use crate::error::ClusterError;
use crate::node::pool::NodePool;
use crate::node::session::Session;
use cluster_map::{MapShard, read_map};
use progress::MoveProgress;
use slot_map::SlotMap;

/// How long a replica that failed a read is left alone before it is tried again.
pub const REPLICA_RETRY_AFTER: Duration = Duration::from_secs(5);

/// A replica: its pool, whether the last health check let it serve reads, and when it may be
/// used again after a failed read.
pub struct Replica {
    pub pool: NodePool,
    healthy: AtomicBool,
    down_until: Mutex<Option<Instant>>,
}

impl Replica {
    fn new(config: NodeConfig, session: &Arc<Session>) -> Replica {
        Replica {
            pool: NodePool::new(config, Arc::clone(session)),
            // Not read from until a health check has vouched for it.
            healthy: AtomicBool::new(false),
            down_until: Mutex::new(None),
        }
    }

    fn is_usable(&self, now: Instant) -> bool {
        self.healthy.load(Ordering::Acquire)
            && !self.pool.is_backing_off()
            && self
                .down_until
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_none_or(|until| now >= until)
    }

    /// What the last health check found: may the replica serve reads?
    pub fn set_healthy(&self, healthy: bool) {
        self.healthy.store(healthy, Ordering::Release);
    }

    /// Takes the replica out of the read rotation for `REPLICA_RETRY_AFTER`.
    pub fn mark_down(&self) {
        *self.down_until.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(Instant::now() + REPLICA_RETRY_AFTER);
    }
}

/// One master and its replicas.
pub struct Shard {
    pub master: NodePool,
    session: Arc<Session>,
    replicas: RwLock<Vec<Arc<Replica>>>,
    next_replica: AtomicUsize,
}

impl Shard {
    fn new(master: NodeConfig, replicas: &[NodeConfig], session: &Arc<Session>) -> Shard {
        Shard {
            master: NodePool::new(master, Arc::clone(session)),
            session: Arc::clone(session),
            replicas: RwLock::new(
                replicas
                    .iter()
                    .map(|r| Arc::new(Replica::new(r.clone(), session)))
                    .collect(),
            ),
            next_replica: AtomicUsize::new(0),
        }
    }

    /// Closes the idle connections to the master and its replicas.
    pub fn disconnect(&self) {
        self.master.disconnect();
        for replica in self.replicas() {
            replica.pool.disconnect();
        }
    }

    /// A usable replica, taking turns among them; `None` when there is none.
    pub fn pick_replica(&self) -> Option<Arc<Replica>> {
        let replicas = self.replicas.read().unwrap_or_else(|p| p.into_inner());
        if replicas.is_empty() {
            return None;
        }
        let now = Instant::now();
        let start = self.next_replica.fetch_add(1, Ordering::Relaxed);
        (0..replicas.len())
            .map(|i| &replicas[(start + i) % replicas.len()])
            .find(|r| r.is_usable(now))
            .cloned()
    }

    /// Are any replicas known now (usable or not)?
    pub fn has_replicas(&self) -> bool {
        !self
            .replicas
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
    }

    /// The replicas known now.
    pub fn replicas(&self) -> Vec<Arc<Replica>> {
        self.replicas
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The replicas' settings with whether each may serve reads right now.
    pub fn replica_states(&self) -> Vec<(NodeConfig, bool)> {
        let now = Instant::now();
        self.replicas()
            .iter()
            .map(|r| (r.pool.config().clone(), r.is_usable(now)))
            .collect()
    }

    /// Uses exactly these replicas from now on, keeping the pools (and health) of the ones
    /// already known; new ones serve reads once a health check vouches for them. `readonly`:
    /// they are a Redis Cluster's (see `NodeConfig::readonly`).
    pub fn adopt_replicas(&self, found: &[(String, u16)], readonly: bool) {
        let mut replicas = self.replicas.write().unwrap_or_else(|p| p.into_inner());
        let next = found
            .iter()
            .map(|(host, port)| {
                let existing = replicas
                    .iter()
                    .find(|r| &r.pool.config().host == host && r.pool.config().port == *port);
                match existing {
                    Some(replica) => Arc::clone(replica),
                    None => Arc::new(Replica::new(
                        self.master.config().replica_at(host, *port, readonly),
                        &self.session,
                    )),
                }
            })
            .collect();
        *replicas = next;
    }
}

/// The nodes that may be masters, by index: every configured master, or every node a Redis
/// Cluster's map has named so far. Only ever grows, so an index taken once stays valid while
/// other threads add nodes.
#[derive(Default)]
pub struct Nodes {
    list: boxcar::Vec<Shard>,
    /// One addition at a time, so an address is never added twice.
    adding: Mutex<()>,
}

impl Nodes {
    pub fn len(&self) -> usize {
        self.list.count()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Shard> {
        self.list.iter().map(|(_, shard)| shard)
    }

    fn push(&self, shard: Shard) -> usize {
        self.list.push(shard)
    }

    /// The index of the node at `host:port`, added (built by `make`) if it is new.
    fn find_or_add(&self, host: &str, port: u16, make: impl FnOnce() -> Shard) -> usize {
        let at = |list: &boxcar::Vec<Shard>| {
            list.iter()
                .find(|(_, s)| s.master.config().host == host && s.master.config().port == port)
                .map(|(i, _)| i)
        };
        if let Some(found) = at(&self.list) {
            return found;
        }
        let _one = self.adding.lock().unwrap_or_else(|p| p.into_inner());
        at(&self.list).unwrap_or_else(|| self.push(make()))
    }
}

impl std::ops::Index<usize> for Nodes {
    type Output = Shard;

    fn index(&self, node: usize) -> &Shard {
        &self.list[node]
    }
}

/// The whole cluster as the client sees it.
pub struct Topology {
    pub shards: Nodes,
    /// The slot map, on a Redis Cluster.
    pub slots: Option<SlotMap>,
    /// The client's connection settings, shared by every pool.
    pub session: Arc<Session>,
    /// The masters before a reshard (the config's `previous`), for the online window; empty
    /// when there is none.
    pub previous: Vec<NodePool>,
    /// How keys were placed on `previous` (`ClusterConfig::previous_placement`).
    pub previous_placement: crate::placement::Placement,
    /// For each of `previous`, the master (an index into `shards`) that is the same server
    /// and database, if one is (`same_servers`).
    pub previous_twins: Vec<Option<usize>>,
    /// How far a move off `previous` has got, as its mover last published (`progress.rs`).
    pub previous_progress: MoveProgress,
    /// The config this was built from: reads to masters only, where replicas come from and
    /// their health settings, and the whole of it to build the same client again in a forked
    /// child.
    pub config: ClusterConfig,
}

impl Topology {
    /// Pools for every configured server; nothing is connected yet. On a Redis Cluster the
    /// configured nodes are where the map is first read from (`read_map`).
    pub fn new(config: &ClusterConfig) -> Topology {
        let session = Arc::new(Session::default());
        let shards = Nodes::default();
        for (master, replicas) in config.masters.iter().zip(&config.replicas) {
            shards.push(Shard::new(master.clone(), replicas, &session));
        }
        let previous: Vec<NodePool> = config
            .previous
            .iter()
            .flatten()
            .map(|old| NodePool::new(old.clone(), Arc::clone(&session)))
            .collect();
        let previous_twins = match (&config.previous, config.redis_cluster) {
            (Some(old), false) => same_servers(old, &config.masters),
            // A Redis Cluster's nodes are never the client-side masters left behind.
            (Some(old), true) => vec![None; old.len()],
            (None, _) => Vec::new(),
        };
        let previous_progress = MoveProgress::new(previous.len());
        Topology {
            shards,
            slots: config.redis_cluster.then(SlotMap::default),
            session,
            previous,
            previous_progress,
            previous_placement: config.previous_placement(),
            previous_twins,
            config: config.clone(),
        }
    }

    /// The node (an index into `shards`) that serves a unit: the unit itself, or on a Redis
    /// Cluster the node serving the slot.
    #[inline]
    pub fn node_of(&self, unit: usize) -> usize {
        match &self.slots {
            None => unit,
            Some(map) => map.owner(unit),
        }
    }

    /// The masters now, as node indexes: every configured one, or those of the Redis
    /// Cluster's map (read again first when a slot moved since it was last read).
    pub fn master_nodes(&self) -> Vec<usize> {
        match &self.slots {
            None => (0..self.shards.len()).collect(),
            Some(map) => {
                if map.moved_since_read() {
                    // The map as it was is still usable when no node answers now; while none
                    // does, asked again at most every `REFRESH_AT_MOST_EVERY`.
                    let _ = self.read_map(false);
                }
                map.masters()
            }
        }
    }

    /// Reads the Redis Cluster's map again from the masters known now, else the configured
    /// nodes (the first that answers), and installs it; unless another caller is reading it
    /// now or it was read moments ago (`slot_map::REFRESH_AT_MOST_EVERY`) and not `now`.
    /// Nothing on client-side shards. The error is the last node's, when none answered.
    pub fn read_map(&self, now: bool) -> Result<(), ClusterError> {
        let Some(map) = &self.slots else {
            return Ok(());
        };
        map.read_again(now, || {
            let mut asked: Vec<usize> = map.masters();
            let seeds: Vec<usize> = (0..self.config.masters.len())
                .filter(|i| !asked.contains(i))
                .collect();
            asked.extend(seeds);
            let mut last_error = None;
            for node in asked {
                match read_map(&self.shards[node].master) {
                    Ok(found) => {
                        self.install(map, &found);
                        return Ok(());
                    }
                    Err(e) => last_error = Some(e),
                }
            }
            Err(last_error.expect("at least one configured node"))
        })
        .map(|_| ())
    }

    /// The node at `host:port`, added if the map names it for the first time (with the
    /// configured nodes' credentials, timeouts and TLS).
    pub fn node_at(&self, host: &str, port: u16) -> usize {
        self.shards.find_or_add(host, port, || {
            let mut config = self.config.masters[0].clone();
            config.host = host.to_owned();
            config.port = port;
            config.name = config.addr();
            Shard::new(config, &[], &self.session)
        })
    }

    fn install(&self, map: &SlotMap, found: &[MapShard]) {
        let mut served: Vec<(usize, Vec<(usize, usize)>)> = found
            .iter()
            .map(|shard| {
                let node = self.node_at(&shard.master.0, shard.master.1);
                self.shards[node].adopt_replicas(&shard.replicas, true);
                (node, shard.slots.clone())
            })
            .collect();
        // Masters in slot order, whatever order the server listed them in: SCAN's cursor
        // names a master by its place in this list.
        served.sort_by_key(|(_, ranges)| ranges.iter().map(|(start, _)| *start).min());
        map.install(&served);
    }

    /// The shard of a master by name (`node_k`).
    pub fn shard_named(&self, node: &str) -> Option<&Shard> {
        self.shards.iter().find(|s| s.master.name() == node)
    }
}

/// For each of `old`, the index of the master among `masters` that is the same server and
/// database as written in the configs (`host:port` and `db`): its keys are not moving. One
/// server named two ways (`localhost` and `127.0.0.1`) is not recognised, and costs the window
/// a useless ask; it is never a hazard (see `executor/pull.rs`). Names are not resolved: a
/// client is built without a DNS lookup.
fn same_servers(old: &[NodeConfig], masters: &[NodeConfig]) -> Vec<Option<usize>> {
    old.iter()
        .map(|o| {
            masters
                .iter()
                .position(|m| m.db == o.db && m.addr() == o.addr())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::same_servers;
    use crate::config::NodeConfig;

    fn node(host: &str, port: u16, db: i64) -> NodeConfig {
        NodeConfig {
            db,
            ..NodeConfig::new("node_1", host, port)
        }
    }

    /// The same `host:port` and database is the same server: keys on it are not moving.
    #[test]
    fn the_same_address_and_database_is_the_same_server() {
        let masters = [node("127.0.0.1", 7001, 0), node("127.0.0.1", 7002, 0)];
        let old = [
            node("127.0.0.1", 7002, 0),
            node("127.0.0.1", 7001, 0),
            node("127.0.0.1", 7003, 0),
            node("127.0.0.1", 7001, 1),
            node("localhost", 7001, 0),
        ];
        assert_eq!(
            same_servers(&old, &masters),
            [Some(1), Some(0), None, None, None]
        );
    }
}
