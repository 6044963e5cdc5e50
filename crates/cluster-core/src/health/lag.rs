//! How far behind a replica is, in time, from replication offsets. Each check records the
//! master's replication offset with the time it was read. A replica whose applied offset is at
//! least the one the master had at time `t` holds every write made before `t`, so it lags by at
//! most `now - t`. A replica that cannot be placed against any recorded offset is not trusted.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The master's replication offset over time, recent enough to judge `max_lag`.
#[derive(Default)]
pub struct OffsetHistory {
    samples: VecDeque<(Instant, u64)>,
}

impl OffsetHistory {
    pub fn record(&mut self, at: Instant, offset: u64, keep: Duration) {
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
pub fn field<'a>(info: &'a str, key: &str) -> Option<&'a str> {
    info.lines().find_map(|line| {
        line.trim_end()
            .strip_prefix(key)
            .and_then(|rest| rest.strip_prefix(':'))
    })
}

/// What the master said at the last check: its replication id, and when it was asked.
pub struct MasterView {
    pub replid: String,
    pub checked_at: Instant,
}

/// May this replica (its `INFO replication` text) serve reads?
pub fn replica_is_healthy(
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
