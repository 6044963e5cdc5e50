//! Who serves what: the masters in placement order, each with its replicas (from `master_of`
//! or, once the health checks have discovered them, from `INFO replication`), which replicas
//! may serve reads right now, and the masters before a reshard (the online window). State only:
//! the checks that change it live in `health/`, the reads that use it in `executor/`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::config::{ClusterConfig, NodeConfig};
use crate::node::pool::NodePool;
use crate::node::session::Session;

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
    /// already known; new ones serve reads once a health check vouches for them.
    pub fn adopt_replicas(&self, found: &[(String, u16)]) {
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
                        self.master.config().replica_at(host, *port),
                        &self.session,
                    )),
                }
            })
            .collect();
        *replicas = next;
    }
}

/// The whole cluster as the client sees it.
pub struct Topology {
    pub shards: Vec<Shard>,
    /// The client's connection settings, shared by every pool.
    pub session: Arc<Session>,
    /// The masters before a reshard (the config's `previous`), for the online window; empty
    /// when there is none.
    pub previous: Vec<NodePool>,
    /// How keys were placed on `previous` (`ClusterConfig::previous_placement`).
    pub previous_placement: crate::placement::Placement,
    /// The config this was built from: reads to masters only, where replicas come from and
    /// their health settings, and the whole of it to build the same client again in a forked
    /// child.
    pub config: ClusterConfig,
}

impl Topology {
    /// Pools for every configured server; nothing is connected yet.
    pub fn new(config: &ClusterConfig) -> Topology {
        let session = Arc::new(Session::default());
        let shards = config
            .masters
            .iter()
            .zip(&config.replicas)
            .map(|(master, replicas)| Shard {
                master: NodePool::new(master.clone(), Arc::clone(&session)),
                session: Arc::clone(&session),
                replicas: RwLock::new(
                    replicas
                        .iter()
                        .map(|r| Arc::new(Replica::new(r.clone(), &session)))
                        .collect(),
                ),
                next_replica: AtomicUsize::new(0),
            })
            .collect();
        let previous = config
            .previous
            .iter()
            .flatten()
            .map(|old| NodePool::new(old.clone(), Arc::clone(&session)))
            .collect();
        Topology {
            shards,
            session,
            previous,
            previous_placement: config.previous_placement(),
            config: config.clone(),
        }
    }

    /// The shard of a master by name (`node_k`).
    pub fn shard_named(&self, node: &str) -> Option<&Shard> {
        self.shards.iter().find(|s| s.master.name() == node)
    }
}
