//! Replica health. A replica serves reads only while its own `INFO replication` says its link
//! to the master is up (no full sync in progress, following our master's replication id) and
//! its data is at most `max_replica_lag` old. Checked for every shard every
//! `replica_check_interval` by one background thread per client (never on the read path),
//! which also re-discovers replicas from the master's `INFO replication` unless they are given
//! by `master_of`.
//!
//! The lag is measured in time, from offsets: each check records the master's replication
//! offset with the time it was read. A replica whose applied offset is at least the one the
//! master had at time `t` holds every write made before `t`, so it lags by at most
//! `now - t`. A replica that cannot be placed against any recorded offset is not trusted.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread;
use std::time::{Duration, Instant};

use redis::Value;

use crate::config::{NodeConfig, ReplicaHealth};
use crate::connection::Connection;
use crate::error::ClusterError;
use crate::resp::pack_command;
use crate::topology::{Shard, Topology, online_replicas};

/// A health check never waits longer than this for a node (a stopped node must not hold up
/// the checks of the others for long).
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// At startup, a replica a few writes behind is asked again this many times, this far
/// apart, before reads go to the master until the next check.
const STARTUP_RETRIES: u32 = 5;
const STARTUP_RETRY_PAUSE: Duration = Duration::from_millis(10);

/// A connection of its own for health checks, so they never wait behind (or disturb) the
/// client's pooled connections; opened on demand, dropped after a failure.
pub struct Probe {
    config: NodeConfig,
    connection: Mutex<Option<Connection>>,
}

impl Probe {
    pub fn new(node: &NodeConfig) -> Probe {
        let mut config = node.clone();
        let cap = |t: Option<Duration>| Some(t.map_or(PROBE_TIMEOUT, |t| t.min(PROBE_TIMEOUT)));
        config.connect_timeout = cap(config.connect_timeout);
        config.read_timeout = cap(config.read_timeout);
        Probe {
            config,
            connection: Mutex::new(None),
        }
    }

    /// The node's `INFO replication` text; the error names the node.
    pub fn replication_info(&self) -> Result<String, ClusterError> {
        let (node, addr) = (&self.config.name, self.config.addr());
        let mut slot = self.connection.lock().unwrap_or_else(|p| p.into_inner());
        let connection = match &mut *slot {
            Some(connection) => connection,
            None => slot.insert(
                Connection::open(&self.config)
                    .map_err(|e| ClusterError::from_redis(node, &addr, e))?,
            ),
        };
        let mut packed = Vec::new();
        pack_command(&["INFO", "replication"], &[], &mut packed);
        match connection.send(&packed).and_then(|()| connection.receive()) {
            Ok(Value::BulkString(bytes)) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Ok(Value::VerbatimString { text, .. }) => Ok(text),
            Ok(Value::ServerError(error)) => Err(ClusterError::Server {
                node: node.clone(),
                error,
            }),
            Ok(other) => Err(ClusterError::Command(format!(
                "ERR {node} answered INFO with {other:?}"
            ))),
            Err(e) => {
                *slot = None;
                Err(ClusterError::from_redis(node, &addr, e.into()))
            }
        }
    }
}

/// The master's replication offset over time, recent enough to judge `max_lag`.
#[derive(Default)]
pub struct OffsetHistory {
    samples: VecDeque<(Instant, u64)>,
}

impl OffsetHistory {
    fn record(&mut self, at: Instant, offset: u64, keep: Duration) {
        self.samples.push_back((at, offset));
        // Older samples can only prove lags longer than `keep`, which are too long anyway.
        while self
            .samples
            .front()
            .is_some_and(|(t, _)| at.duration_since(*t) > keep)
            && self.samples.len() > 1
        {
            self.samples.pop_front();
        }
    }

    /// How far behind a replica that has applied `applied` is at most, or `None` when no
    /// recorded offset is old enough to vouch for it.
    fn lag_of(&self, applied: u64, now: Instant) -> Option<Duration> {
        self.samples
            .iter()
            .rev()
            .find(|(_, offset)| *offset <= applied)
            .map(|(t, _)| now.saturating_duration_since(*t))
    }
}

/// The `key:value` fields of an `INFO` section.
fn field<'a>(info: &'a str, key: &str) -> Option<&'a str> {
    info.lines().find_map(|line| {
        line.trim_end()
            .strip_prefix(key)
            .and_then(|rest| rest.strip_prefix(':'))
    })
}

/// What the master said at the last check: its replication id, and when it was asked.
struct MasterView {
    replid: String,
    checked_at: Instant,
}

/// May this replica (its `INFO replication` text) serve reads?
fn replica_is_healthy(
    info: &str,
    master: Option<&MasterView>,
    history: &OffsetHistory,
    max_lag: Duration,
) -> bool {
    let following = field(info, "role") == Some("slave")
        && field(info, "master_link_status") == Some("up")
        && field(info, "master_sync_in_progress") != Some("1");
    // Without the master's word this time, nothing proves the replica is current.
    let Some(master) = master.filter(|m| m.checked_at.elapsed() <= max_lag) else {
        return false;
    };
    // Another master's replica (or one from before a failover) has unrelated data.
    if !following || field(info, "master_replid") != Some(master.replid.as_str()) {
        return false;
    }
    let Some(applied) = field(info, "slave_repl_offset").and_then(|o| o.parse().ok()) else {
        return false;
    };
    history
        .lag_of(applied, Instant::now())
        .is_some_and(|lag| lag <= max_lag)
}

impl Shard {
    /// One health check: the master's offset (and, when discovering, its replica list), then
    /// each replica's link and lag. At startup a replica a few writes behind is asked again.
    /// The error is the master's, when it could not be asked (its replicas are then unused).
    pub fn check_replicas(
        &self,
        discover: bool,
        health: ReplicaHealth,
        startup: bool,
    ) -> Result<(), ClusterError> {
        let master_info = self.master_probe.replication_info();
        let checked_at = Instant::now();
        let master = master_info.as_deref().ok().and_then(|info| {
            let offset = field(info, "master_repl_offset")?.parse().ok()?;
            self.offsets
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .record(checked_at, offset, health.max_lag * 2);
            Some(MasterView {
                replid: field(info, "master_replid")?.to_owned(),
                checked_at,
            })
        });
        if discover && let Ok(info) = &master_info {
            self.adopt_replicas(&online_replicas(info));
        }
        for replica in self.replicas() {
            let mut healthy = false;
            for attempt in 0..=if startup { STARTUP_RETRIES } else { 0 } {
                if attempt > 0 {
                    thread::sleep(STARTUP_RETRY_PAUSE);
                }
                let Ok(info) = replica.probe.replication_info() else {
                    break;
                };
                let history = self.offsets.lock().unwrap_or_else(|p| p.into_inner());
                healthy = replica_is_healthy(&info, master.as_ref(), &history, health.max_lag);
                if healthy {
                    break;
                }
            }
            replica.healthy.store(healthy, Ordering::Release);
        }
        master_info.map(|_| ())
    }
}

impl Topology {
    /// Checks every shard at once (a slow node delays only its own shard's check). The error
    /// is the first master that could not be asked.
    pub fn check_replicas(&self, startup: bool) -> Result<(), ClusterError> {
        if self.config.masters_only {
            return Ok(());
        }
        let discover = !self.config.explicit_replicas;
        thread::scope(|scope| {
            let checks: Vec<_> = self
                .shards
                .iter()
                .map(|shard| {
                    scope.spawn(move || {
                        shard.check_replicas(discover, self.config.replica_health, startup)
                    })
                })
                .collect();
            checks
                .into_iter()
                .try_for_each(|check| check.join().expect("a replica check does not panic"))
        })
    }
}

/// Starts the background checks for a client; the thread ends once the client is dropped.
pub fn spawn_checker(topology: &Arc<Topology>) {
    if topology.config.masters_only {
        return;
    }
    let weak: Weak<Topology> = Arc::downgrade(topology);
    let signal = Arc::clone(&topology.checker_signal);
    let interval = topology.config.replica_health.check_interval;
    // Best effort: without the thread, replicas keep their last state (checked at startup).
    let _ = thread::Builder::new()
        .name("rediscluster-replica-health".to_owned())
        .spawn(move || {
            while !signal.wait(interval) {
                let Some(topology) = weak.upgrade() else {
                    return;
                };
                // A master that cannot be asked now is asked again next time.
                let _ = topology.check_replicas(false);
            }
        });
}

/// Wakes a client's checker thread before its interval is up: to check at once after a
/// replica failed a read (it may be gone, or a new one may have taken its place), and to end
/// as soon as the client is dropped (PHP builds a client per request; their threads must not
/// pile up).
#[derive(Default)]
pub struct CheckerSignal {
    state: Mutex<Signals>,
    wake: Condvar,
}

#[derive(Default)]
struct Signals {
    stopped: bool,
    check_now: bool,
}

impl CheckerSignal {
    /// Waits up to `interval` or until woken; true once the client is gone.
    fn wait(&self, interval: Duration) -> bool {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (mut state, _) = self
            .wake
            .wait_timeout_while(state, interval, |s| !s.stopped && !s.check_now)
            .unwrap_or_else(|p| p.into_inner());
        state.check_now = false;
        state.stopped
    }

    /// Check now rather than at the next interval.
    pub fn check_now(&self) {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .check_now = true;
        self.wake.notify_all();
    }

    pub fn stop(&self) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).stopped = true;
        self.wake.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASTER: &str = "role:master\r\nmaster_replid:abc\r\nmaster_repl_offset:100\r\n";

    fn replica(link: &str, replid: &str, offset: u64) -> String {
        format!(
            "# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_link_status:{link}\r\n\
             master_sync_in_progress:0\r\nslave_repl_offset:{offset}\r\nmaster_replid:{replid}\r\n"
        )
    }

    #[test]
    fn judges_link_replication_id_and_lag() {
        let now = Instant::now();
        let mut history = OffsetHistory::default();
        history.record(now - Duration::from_secs(4), 50, Duration::from_secs(10));
        history.record(now - Duration::from_secs(1), 80, Duration::from_secs(10));
        history.record(now, 100, Duration::from_secs(10));
        let master = MasterView {
            replid: field(MASTER, "master_replid").unwrap().to_owned(),
            checked_at: now,
        };
        let max = Duration::from_secs(3);
        let judge = |info: &str| replica_is_healthy(info, Some(&master), &history, max);
        assert!(judge(&replica("up", "abc", 100)));
        assert!(judge(&replica("up", "abc", 85)), "about 1 s behind");
        assert!(!judge(&replica("up", "abc", 60)), "about 4 s behind");
        assert!(
            !judge(&replica("up", "abc", 10)),
            "older than anything recorded"
        );
        assert!(!judge(&replica("down", "abc", 100)));
        assert!(
            !judge(&replica("up", "other", 100)),
            "another master's data"
        );
        assert!(!judge(MASTER), "not a replica");
        let stale_master = MasterView {
            replid: "abc".to_owned(),
            checked_at: now - Duration::from_secs(5),
        };
        assert!(!replica_is_healthy(
            &replica("up", "abc", 100),
            Some(&stale_master),
            &history,
            max
        ));
        assert!(!replica_is_healthy(
            &replica("up", "abc", 100),
            None,
            &history,
            max
        ));
    }

    #[test]
    fn history_keeps_what_it_needs() {
        let start = Instant::now();
        let mut history = OffsetHistory::default();
        for i in 0..10u64 {
            history.record(
                start + Duration::from_secs(i),
                i * 10,
                Duration::from_secs(3),
            );
        }
        assert!(history.samples.len() <= 4);
        assert_eq!(history.lag_of(0, start), None);
    }
}
