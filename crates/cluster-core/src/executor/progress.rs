//! Reads the move's marks (`topology/progress.rs`) while the window is open: one background
//! thread per client asks every old master for its mark every `POLL_EVERY`, on a connection of
//! its own per old master (never one of the pools the reads use), and writes what it read into
//! the topology. A client that lives only for a short request (PHP builds one per request)
//! ends before its first poll and opens nothing: its reads ask both masters, as without marks.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use redis::Value;

use crate::health::FIRST_CHECK_DELAY;
use crate::health::probe::Probe;
use crate::health::signal::Signal;
use crate::topology::Topology;
use crate::topology::progress::{PROGRESS_KEY, parse_mark};

/// How often the marks are read, give or take a fifth (so a fleet of clients started together
/// does not ask in step): 10 GETs a second per client per old master. A client's view of the
/// move lags by this much (plus the mover's own pace of publishing): a key moved in that lag is
/// looked for on its old master first, found missing there, then read on its new master.
pub const POLL_EVERY: Duration = Duration::from_millis(100);

/// The polling thread, ended when this is dropped.
pub struct ProgressPoller {
    signal: Arc<Signal>,
}

impl ProgressPoller {
    /// Starts polling the old masters, unless there are none (no window) or no thread can be
    /// started (then reads simply ask both masters).
    pub fn start(topology: &Arc<Topology>) -> Option<ProgressPoller> {
        if topology.previous.is_empty() {
            return None;
        }
        let signal = Arc::new(Signal::default());
        let stop = Arc::clone(&signal);
        let probes: Vec<Probe> = topology
            .previous
            .iter()
            .map(|old| Probe::new(old.config()))
            .collect();
        let weak = Arc::downgrade(topology);
        thread::Builder::new()
            .name("rediscluster-move-progress".to_owned())
            .spawn(move || {
                let mut pause = FIRST_CHECK_DELAY;
                while !stop.wait(pause) {
                    for (old, probe) in probes.iter().enumerate() {
                        let mark = read_mark(probe);
                        // The client may be gone while an old master kept us waiting.
                        let Some(topology) = weak.upgrade() else {
                            return;
                        };
                        if let Some(mark) = mark {
                            topology.previous_progress.set(old, mark);
                        }
                    }
                    pause = jittered(POLL_EVERY);
                }
            })
            .ok()?;
        Some(ProgressPoller { signal })
    }
}

impl Drop for ProgressPoller {
    fn drop(&mut self) {
        self.signal.stop();
    }
}

/// An old master's mark: `Some(None)` for none (the mover is done, or stopped long enough for it
/// to expire) or a refusal (an ACL without GET), both unknown; `None` when the master cannot be
/// asked: it keeps its last mark, still true (during a move a mark only rises).
fn read_mark(probe: &Probe) -> Option<Option<u32>> {
    match probe.query(&[b"GET".as_slice(), PROGRESS_KEY]) {
        Ok(Value::BulkString(mark)) => Some(parse_mark(&mark)),
        Ok(_) => Some(None),
        Err(_) => None,
    }
}

/// `pause` give or take a fifth, from the clock's microseconds and the process id (no need for
/// a random source; clocks may tick in whole microseconds).
fn jittered(pause: Duration) -> Duration {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.subsec_micros());
    let seed = micros ^ std::process::id().wrapping_mul(2_654_435_761);
    let fraction = 0.8 + 0.4 * f64::from(seed % 1000) / 1000.0;
    pause.mul_f64(fraction)
}
