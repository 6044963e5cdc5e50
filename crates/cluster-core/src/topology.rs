//! Who serves what: the masters in placement order, each with its replicas (from `master_of`
//! or discovered through `INFO replication`), and which replicas are usable right now.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::config::{ClusterConfig, NodeConfig};
use crate::error::ClusterError;
use crate::health::{CheckerSignal, OffsetHistory, Probe};
use crate::pool::NodePool;
use crate::session::Session;

/// How long a replica that failed a read is left alone before it is tried again.
pub const REPLICA_RETRY_AFTER: Duration = Duration::from_secs(5);

/// A replica: its pool, whether the last health check let it serve reads (see `health.rs`),
/// and when it may be used again after a failed read.
pub struct Replica {
    pub pool: NodePool,
    pub(crate) probe: Probe,
    pub(crate) healthy: AtomicBool,
    down_until: Mutex<Option<Instant>>,
}

impl Replica {
    fn new(config: NodeConfig, session: &Arc<Session>) -> Result<Replica, ClusterError> {
        Ok(Replica {
            probe: Probe::new(&config),
            pool: NodePool::new(config, Arc::clone(session))?,
            // Not read from until a health check has vouched for it.
            healthy: AtomicBool::new(false),
            down_until: Mutex::new(None),
        })
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
    pub(crate) master_probe: Probe,
    /// The master's replication offset over time, to measure replica lag.
    pub(crate) offsets: Mutex<OffsetHistory>,
}

impl Shard {
    /// Closes the idle connections to the master and its replicas.
    pub fn disconnect(&self) {
        self.master.disconnect();
        for replica in self
            .replicas
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
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

    /// The replicas' settings, as configured or last discovered.
    pub fn replica_configs(&self) -> Vec<NodeConfig> {
        let replicas = self.replicas.read().unwrap_or_else(|p| p.into_inner());
        replicas.iter().map(|r| r.pool.config().clone()).collect()
    }

    /// The replicas' settings with whether each may serve reads right now.
    pub fn replica_states(&self) -> Vec<(NodeConfig, bool)> {
        let now = Instant::now();
        self.replicas()
            .iter()
            .map(|r| (r.pool.config().clone(), r.is_usable(now)))
            .collect()
    }

    /// The replicas known now.
    pub fn replicas(&self) -> Vec<Arc<Replica>> {
        self.replicas
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Uses exactly these replicas from now on, keeping the pools (and health) of the ones
    /// already known; new ones serve reads once a health check vouches for them.
    pub(crate) fn adopt_replicas(&self, found: &[(String, u16)]) {
        let mut replicas = self.replicas.write().unwrap_or_else(|p| p.into_inner());
        let next = found
            .iter()
            .filter_map(|(host, port)| {
                let existing = replicas
                    .iter()
                    .find(|r| &r.pool.config().host == host && r.pool.config().port == *port);
                match existing {
                    Some(replica) => Some(Arc::clone(replica)),
                    None => {
                        Replica::new(self.master.config().replica_at(host, *port), &self.session)
                            .ok()
                            .map(Arc::new)
                    }
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
    /// Wakes the background replica checks: after a replica failed, and to end them when the
    /// client is dropped.
    pub(crate) checker_signal: Arc<CheckerSignal>,
    /// The config this was built from: reads to masters only, where replicas come from and
    /// their health settings, and the whole of it to build the same client again in a forked
    /// child.
    pub config: ClusterConfig,
}

impl Drop for Topology {
    fn drop(&mut self) {
        self.checker_signal.stop();
    }
}

impl Topology {
    /// Pools for every configured server; nothing is connected yet.
    pub fn new(config: &ClusterConfig) -> Result<Topology, ClusterError> {
        let session = Arc::new(Session::default());
        let shards = config
            .masters
            .iter()
            .zip(&config.replicas)
            .map(|(master, replicas)| {
                Ok(Shard {
                    master_probe: Probe::new(master),
                    offsets: Mutex::new(OffsetHistory::default()),
                    master: NodePool::new(master.clone(), Arc::clone(&session))?,
                    session: Arc::clone(&session),
                    replicas: RwLock::new(
                        replicas
                            .iter()
                            .map(|r| Replica::new(r.clone(), &session).map(Arc::new))
                            .collect::<Result<_, ClusterError>>()?,
                    ),
                    next_replica: AtomicUsize::new(0),
                })
            })
            .collect::<Result<_, ClusterError>>()?;
        let previous = config
            .previous
            .iter()
            .flatten()
            .map(|old| NodePool::new(old.clone(), Arc::clone(&session)))
            .collect::<Result<_, ClusterError>>()?;
        Ok(Topology {
            shards,
            session,
            previous,
            checker_signal: Arc::default(),
            config: config.clone(),
        })
    }
}

/// `(host, port)` of every replica that `INFO replication` reports online. Understands the
/// modern `slave0:ip=10.0.0.2,port=6380,state=online,offset=…,lag=0` lines and the pre-2.8
/// `slave0:10.0.0.2,6380,online` form.
pub fn online_replicas(info: &str) -> Vec<(String, u16)> {
    info.lines()
        .filter_map(|line| {
            let (name, fields) = line.trim().split_once(':')?;
            let n = name.strip_prefix("slave")?;
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            if fields.contains('=') {
                let field = |key: &str| {
                    fields
                        .split(',')
                        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
                };
                let state = field("state")?;
                (state == "online")
                    .then_some((field("ip")?.to_owned(), field("port")?.parse().ok()?))
            } else {
                let mut parts = fields.split(',');
                let (ip, port, state) = (parts.next()?, parts.next()?, parts.next()?);
                (state == "online").then_some((ip.to_owned(), port.parse().ok()?))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::online_replicas;

    #[test]
    fn parses_modern_and_old_info_replication() {
        let info = "# Replication\r\nrole:master\r\nconnected_slaves:3\r\n\
            slave0:ip=127.0.0.1,port=7003,state=online,offset=42,lag=0\r\n\
            slave1:ip=::1,port=7004,state=wait_bgsave,offset=0,lag=0\r\n\
            slave2:10.0.0.9,6380,online\r\nmaster_replid:abc\r\n";
        assert_eq!(
            online_replicas(info),
            vec![
                ("127.0.0.1".to_owned(), 7003),
                ("10.0.0.9".to_owned(), 6380)
            ]
        );
        assert!(online_replicas("role:slave\r\nmaster_host:127.0.0.1\r\n").is_empty());
    }
}
