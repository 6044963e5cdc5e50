//! Replica health. A replica serves reads only while its own `INFO replication` says its link
//! to the master is up (no full sync in progress, following our master's replication id) and
//! its data is at most `max_replica_lag` old (`lag.rs`). Checked for every shard every
//! `replica_check_interval` by one background thread per client (never on the read path),
//! which also re-discovers replicas from the master's `INFO replication` (`discovery.rs`)
//! unless `master_of` names them. The checks own their state (probe connections, offset
//! history, the thread and its signal); what they conclude is written into the topology.
//!
//! Building a client never waits for a check: replicas start out unhealthy (reads go to the
//! masters) and serve reads once a check has vouched for them. The first check runs in the
//! background thread `FIRST_CHECK_DELAY` after the client is built (at once when asked to), so
//! a client that lives only for a short request (PHP builds one per request) does not pay for
//! checks it would not live to use.

mod discovery;
mod lag;
pub(crate) mod probe;
pub(crate) mod signal;

use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread;
use std::time::{Duration, Instant};

use crate::config::ReplicaHealth;
use crate::error::ClusterError;
use crate::topology::{Replica, Shard, Topology};
use discovery::online_replicas;
use lag::{MasterView, OffsetHistory, field, replica_is_healthy};
use probe::Probe;
use signal::Signal;

/// At startup, a replica a few writes behind is asked again this many times, this far
/// apart, before reads go to the master until the next check.
const STARTUP_RETRIES: u32 = 5;
const STARTUP_RETRY_PAUSE: Duration = Duration::from_millis(10);

/// How long after a client is built its first replica check starts (unless asked sooner:
/// `check_soon`, `wait_checked`). Until then reads go to the masters.
pub const FIRST_CHECK_DELAY: Duration = Duration::from_millis(20);

/// A client's replica checks. Dropping it ends the background thread at once.
pub struct Health {
    checks: Arc<Checks>,
}

/// What the checks keep between rounds.
struct Checks {
    settings: ReplicaHealth,
    masters_only: bool,
    discover: bool,
    /// By node index; nodes a Redis Cluster's map adds later get theirs at their first check.
    shards: Mutex<Vec<Arc<ShardChecks>>>,
    signal: Signal,
    /// One check at a time: the background thread's and a caller's (`check`) never interleave
    /// (an older view of the replicas must not overwrite a newer one).
    running: Mutex<()>,
    /// Whether a check has completed yet, and a wake-up for those waiting for one.
    checked: Mutex<bool>,
    checked_wake: Condvar,
}

/// One shard's checks: the master's probe and offset history, a probe per replica.
struct ShardChecks {
    master: Probe,
    offsets: Mutex<OffsetHistory>,
    /// By address, for the replicas known at the last check.
    replicas: Mutex<Vec<(String, Arc<Probe>)>>,
}

impl Health {
    /// Starts the background thread, which holds the topology weakly and checks every replica
    /// `FIRST_CHECK_DELAY` from now (with the startup's retries), then every
    /// `replica_check_interval`; returns at once, nothing connected. Until the first check,
    /// every replica is unhealthy: reads go to the masters. Nothing at all when reads go to
    /// masters only. A node that cannot be reached does not stop the client: its replicas wait
    /// for a later check.
    pub fn start(topology: &Arc<Topology>) -> Health {
        let config = &topology.config;
        let checks = Arc::new(Checks {
            settings: config.replica_health,
            masters_only: config.masters_only,
            // A Redis Cluster's map names the replicas (`topology::read_map`).
            discover: !config.explicit_replicas && !config.redis_cluster,
            shards: Mutex::new(Vec::new()),
            signal: Signal::default(),
            running: Mutex::new(()),
            checked: Mutex::new(false),
            checked_wake: Condvar::new(),
        });
        let health = Health { checks };
        // A Redis Cluster's map is read again by the same thread, replica reads or not.
        if config.masters_only && !config.redis_cluster {
            return health;
        }
        let weak: Weak<Topology> = Arc::downgrade(topology);
        let checks = Arc::clone(&health.checks);
        let spawned = thread::Builder::new()
            .name("rediscluster-replica-health".to_owned())
            .spawn(move || {
                let mut pause = FIRST_CHECK_DELAY;
                let mut startup = true;
                // Ends as soon as the client is dropped, before its first check if it is
                // dropped that soon.
                while !checks.signal.wait(pause) {
                    let Some(topology) = weak.upgrade() else {
                        return;
                    };
                    // A master that cannot be asked now is asked again next time.
                    let _ = checks.run(&topology, startup);
                    (pause, startup) = (checks.settings.check_interval, false);
                }
            });
        if spawned.is_err() {
            // Without the thread, one check now; replicas keep its verdict.
            let _ = health.checks.run(topology, true);
        }
        health
    }

    /// Checks now, in the caller's thread, without the startup's retries: a replica a few
    /// writes behind serves reads from the next background check on. The error is the first
    /// master that could not be asked; the others are checked anyway.
    pub fn check(&self, topology: &Topology) -> Result<(), ClusterError> {
        if topology.config.masters_only {
            return Ok(());
        }
        self.checks.run(topology, false)
    }

    /// Asks the background thread to check now (a replica just failed a read).
    pub fn check_soon(&self) {
        self.checks.signal.check_now();
    }

    /// Waits until a check has completed (asking the background thread to start its first one
    /// now), at most `timeout`; true when one has (or when reads go to masters only: nothing
    /// to check).
    pub fn wait_checked(&self, timeout: Duration) -> bool {
        if self.checks.masters_only {
            return true;
        }
        self.check_soon();
        let checked = self
            .checks
            .checked
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let (checked, _) = self
            .checks
            .checked_wake
            .wait_timeout_while(checked, timeout, |done| !*done)
            .unwrap_or_else(|p| p.into_inner());
        *checked
    }
}

impl Drop for Health {
    fn drop(&mut self) {
        self.checks.signal.stop();
    }
}

impl Checks {
    /// Every shard at once (a slow node delays only its own shard's check); then a check has
    /// completed, for `wait_checked`.
    fn run(&self, topology: &Topology, startup: bool) -> Result<(), ClusterError> {
        let _one_at_a_time = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let result = self.run_shards(topology, startup);
        *self.checked.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.checked_wake.notify_all();
        result
    }

    fn run_shards(&self, topology: &Topology, startup: bool) -> Result<(), ClusterError> {
        // A Redis Cluster's map is read again every round: a failover or a replica added is
        // seen even when no redirect told of it. When no node answers, the map as it was.
        let _ = topology.read_map(true);
        if self.masters_only {
            return Ok(());
        }
        // The masters first: a node they name (added by the map just read, or by a MOVED in
        // another thread) is then within the nodes counted below.
        let masters = topology.master_nodes();
        let checks: Vec<Arc<ShardChecks>> = {
            let mut known = self.shards.lock().unwrap_or_else(|p| p.into_inner());
            for node in known.len()..topology.shards.len() {
                known.push(Arc::new(ShardChecks {
                    master: Probe::new(topology.shards[node].master.config()),
                    offsets: Mutex::new(OffsetHistory::default()),
                    replicas: Mutex::new(Vec::new()),
                }));
            }
            known.clone()
        };
        // The masters now: on a Redis Cluster a node demoted by a failover is left alone.
        thread::scope(|scope| {
            let running: Vec<_> = masters
                .iter()
                .map(|&node| {
                    let (shard, checks) = (&topology.shards[node], &checks[node]);
                    scope.spawn(move || self.check_shard(shard, checks, startup))
                })
                .collect();
            running
                .into_iter()
                .try_for_each(|check| check.join().expect("a replica check does not panic"))
        })
    }

    /// One shard: the master's offset (and, when discovering, its replica list), then each
    /// replica's link and lag. At startup a replica a few writes behind is asked again. The
    /// error is the master's, when it could not be asked (its replicas are then unused).
    fn check_shard(
        &self,
        shard: &Shard,
        checks: &ShardChecks,
        startup: bool,
    ) -> Result<(), ClusterError> {
        let max_lag = self.settings.max_lag;
        let master_info = checks.master.replication_info();
        let checked_at = Instant::now();
        let master = master_info.as_deref().ok().and_then(|info| {
            let offset = field(info, "master_repl_offset")?.parse().ok()?;
            checks
                .offsets
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .record(checked_at, offset, max_lag * 2);
            Some(MasterView {
                replid: field(info, "master_replid")?.to_owned(),
                checked_at,
            })
        });
        if self.discover
            && let Ok(info) = &master_info
        {
            shard.adopt_replicas(&online_replicas(info), false);
        }
        let replicas = shard.replicas();
        let probes = checks.probes_for(&replicas);
        for (replica, probe) in replicas.iter().zip(probes) {
            let mut healthy = false;
            for attempt in 0..=if startup { STARTUP_RETRIES } else { 0 } {
                if attempt > 0 {
                    thread::sleep(STARTUP_RETRY_PAUSE);
                }
                let Ok(info) = probe.replication_info() else {
                    break;
                };
                let history = checks.offsets.lock().unwrap_or_else(|p| p.into_inner());
                healthy = replica_is_healthy(&info, master.as_ref(), &history, max_lag);
                if healthy {
                    break;
                }
            }
            replica.set_healthy(healthy);
        }
        master_info.map(|_| ())
    }
}

impl ShardChecks {
    /// A probe per replica, in order: kept for the replicas already known, new for the others;
    /// the probes of replicas that are gone are dropped.
    fn probes_for(&self, replicas: &[Arc<Replica>]) -> Vec<Arc<Probe>> {
        let mut known = self.replicas.lock().unwrap_or_else(|p| p.into_inner());
        let next: Vec<(String, Arc<Probe>)> = replicas
            .iter()
            .map(|replica| {
                let config = replica.pool.config();
                let addr = config.addr();
                let probe = known
                    .iter()
                    .find(|(a, _)| *a == addr)
                    .map(|(_, probe)| Arc::clone(probe))
                    .unwrap_or_else(|| Arc::new(Probe::new(config)));
                (addr, probe)
            })
            .collect();
        *known = next;
        known.iter().map(|(_, probe)| Arc::clone(probe)).collect()
    }
}
