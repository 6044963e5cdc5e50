//! The move's marks (`cluster_core::move_progress`), the tool's side: after a batch's old
//! copies are deleted, `reshard` writes on that old master the bucket below which it holds no
//! key that moves any more; clients in the window read it to ask one server per read instead
//! of two. Every source has a mark from the start of the move, before its names are collected
//! (bucket 0: nothing moved yet), so that clients know at once that a move runs. A mark lives
//! `PROGRESS_TTL_MS` unless written again: while the job runs a keeper renews every source's
//! mark (a source done early, or one whose names are still being collected, keeps its mark),
//! and the job deletes them when every key has moved; a job killed and never resumed leaves
//! nothing behind for long, and a new move writes over what it left.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use cluster_core::move_progress::{PROGRESS_KEY, PROGRESS_TTL_MS};
use cluster_core::{NodeConfig, NodeConnection};

use crate::error::ToolError;
use crate::nodes::connect;
use crate::readahead::run;

/// How often a source's mark is written while it rises: a client's view of the move lags by
/// this much (plus its own polling interval).
const PUBLISH_EVERY: Duration = Duration::from_millis(20);

/// How often the keeper renews the marks' lifetime.
const RENEW_EVERY: Duration = Duration::from_millis(PROGRESS_TTL_MS / 4);

/// One source's mark, as its worker last wrote it.
#[derive(Default)]
pub struct Mark {
    last: Option<(u32, Instant)>,
}

impl Mark {
    /// Writes `done_below` on the source (on the connection that deleted the batch's old copies,
    /// after them) when it rose and the last write is `PUBLISH_EVERY` old, or when the source
    /// is done (`end`). A refused write (an ACL without SET on the mark) only costs the clients
    /// their shortcut: the reply is not checked.
    pub fn publish(
        &mut self,
        old: &mut NodeConnection,
        source: &NodeConfig,
        done_below: u32,
        end: bool,
    ) -> Result<(), ToolError> {
        let due = self
            .last
            .is_none_or(|(was, at)| end || (was != done_below && at.elapsed() >= PUBLISH_EVERY));
        if !due {
            return Ok(());
        }
        let set = redis::cmd("SET")
            .arg(PROGRESS_KEY)
            .arg(done_below)
            .arg("PX")
            .arg(PROGRESS_TTL_MS)
            .get_packed_command();
        run(old, source, &set, 1)?;
        self.last = Some((done_below, Instant::now()));
        Ok(())
    }
}

/// How a source's mark starts when a move (re)starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opening {
    /// A new move: bucket 0, over any mark that is there (one a killed move left says nothing
    /// of this one). A source that cannot be reached fails the move before anything moves: a
    /// mark left there could claim buckets this move has not done.
    Fresh,
    /// A resumed move's unfinished source: bucket 0 unless the killed run's mark is still
    /// there (it still holds: a key never comes back to its old master).
    Resumed,
    /// A source the resumed move had finished: left as it is (a mark the killed run left there
    /// holds; bucket 0 would send clients to an old master that has nothing).
    Finished,
}

/// Runs a move's sources (`move_sources`) with their marks' upkeep around it: every source is
/// given a mark at once (`open`, as `openings` says, one per source), the marks' lifetime is
/// renewed while the sources move (`keep_alive`), and the marks are deleted once every key
/// has moved.
pub fn kept_during(
    sources: &[NodeConfig],
    openings: &[Opening],
    move_sources: impl FnOnce() -> Result<(), ToolError>,
) -> Result<(), ToolError> {
    for (source, opening) in sources.iter().zip(openings) {
        open(source, *opening)?;
    }
    std::thread::scope(|scope| {
        // Dropped when the sources are done (or failed): the keeper stops.
        let (_keeping, stop) = std::sync::mpsc::channel::<()>();
        scope.spawn(|| keep_alive(sources, stop));
        move_sources()
    })?;
    remove(sources);
    Ok(())
}

/// Marks `source` at bucket 0 ("no bucket done yet") as the move starts (see `Opening`): its
/// first batch is written only once its names are collected, seconds into a big move, and
/// until a client sees a mark it reads every moving key on both masters at once. Into a Redis
/// Cluster a client that knows a move runs reads a key the move has not reached on the old
/// master first, where it most likely is. A refused SET (an ACL) only costs the clients their
/// shortcut; an unreachable source fails a fresh move, and is left to the move's own
/// connection otherwise.
fn open(source: &NodeConfig, opening: Opening) -> Result<(), ToolError> {
    let mut set = redis::cmd("SET");
    set.arg(PROGRESS_KEY).arg(0).arg("PX").arg(PROGRESS_TTL_MS);
    let sent = match opening {
        Opening::Finished => return Ok(()),
        Opening::Resumed => set.arg("NX"),
        Opening::Fresh => &mut set,
    }
    .get_packed_command();
    let written = connect_briefly(source).and_then(|mut c| run(&mut c, source, &sent, 1));
    match (written, opening) {
        (Err(e), Opening::Fresh) => Err(e),
        _ => Ok(()),
    }
}

/// Renews the lifetime of every source's mark every `RENEW_EVERY` (PEXPIRE: the value is the
/// workers' alone) until `stop` is dropped. A source that cannot be reached now is tried again
/// next time.
fn keep_alive(sources: &[NodeConfig], stop: Receiver<()>) {
    let renew = redis::cmd("PEXPIRE")
        .arg(PROGRESS_KEY)
        .arg(PROGRESS_TTL_MS)
        .get_packed_command();
    let mut connections: Vec<Option<NodeConnection>> = sources.iter().map(|_| None).collect();
    while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(RENEW_EVERY) {
        for (source, slot) in sources.iter().zip(&mut connections) {
            let renewed = match slot {
                Some(connection) => run(connection, source, &renew, 1),
                None => connect_briefly(source)
                    .and_then(|connection| run(slot.insert(connection), source, &renew, 1)),
            };
            if renewed.is_err() {
                *slot = None;
            }
        }
    }
}

/// Deletes every source's mark when the whole move is done (the marks say nothing more). Best
/// effort: a mark that cannot be deleted expires within `PROGRESS_TTL_MS`, and a move that is
/// done is not failed for it.
fn remove(sources: &[NodeConfig]) {
    let del = redis::cmd("DEL").arg(PROGRESS_KEY).get_packed_command();
    for source in sources {
        let _ = connect_briefly(source)
            .and_then(|mut connection| run(&mut connection, source, &del, 1));
    }
}

/// A connection that waits for a silent server at most a round of renewals, unless its config
/// says shorter: the marks' upkeep never holds up the job (it ends once the keeper has).
fn connect_briefly(source: &NodeConfig) -> Result<NodeConnection, ToolError> {
    let mut source = source.clone();
    source.read_timeout = Some(
        source
            .read_timeout
            .map_or(RENEW_EVERY, |t| t.min(RENEW_EVERY)),
    );
    connect(&source)
}
