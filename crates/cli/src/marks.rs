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
use redis::Value;

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
        run(old, source, &set_mark(done_below, false), 1)?;
        self.last = Some((done_below, Instant::now()));
        Ok(())
    }
}

/// How a source's mark starts when a move (re)starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opening {
    /// A new move: bucket 0, over any mark that is there (one a killed move left says nothing
    /// of this one). A source that cannot be reached, or that keeps a killed move's mark
    /// (refusing both SET and DEL), fails the move before anything moves: that mark could
    /// claim buckets this move has not done.
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
/// master first, where it most likely is.
fn open(source: &NodeConfig, opening: Opening) -> Result<(), ToolError> {
    match opening {
        Opening::Finished => Ok(()),
        Opening::Resumed => {
            // The kept mark's lifetime is renewed at once: the keeper's first round comes
            // later. Best effort: the move's own connection reports an unreachable source.
            let packed = [set_mark(0, true), renew()].concat();
            let _ = connect_briefly(source).and_then(|mut c| run(&mut c, source, &packed, 2));
            Ok(())
        }
        Opening::Fresh => open_fresh(source),
    }
}

/// A fresh move's bucket 0 on `source`, over any mark there. A SET the server refuses (an
/// ACL without it, OOM under `noeviction`) must not leave a killed move's mark in place, which
/// could claim buckets this move has not done: the mark is deleted instead, and when that is
/// refused too the move fails unless no mark (or bucket 0) is there. Clients without a mark
/// only lose their shortcut.
fn open_fresh(source: &NodeConfig) -> Result<(), ToolError> {
    let mut connection = connect_briefly(source)?;
    let mut ask = |packed: &[u8]| -> Result<Value, ToolError> {
        let mut replies = run(&mut connection, source, packed, 1)?;
        Ok(replies.pop().unwrap_or(Value::Nil))
    };
    if !matches!(ask(&set_mark(0, false))?, Value::ServerError(_)) {
        return Ok(());
    }
    if !matches!(ask(&delete_mark())?, Value::ServerError(_)) {
        return Ok(());
    }
    let get = redis::cmd("GET").arg(PROGRESS_KEY).get_packed_command();
    match ask(&get)? {
        Value::Nil => Ok(()),
        Value::BulkString(mark) if mark == b"0" => Ok(()),
        _ => Err(ToolError::Node {
            node: source.name.clone(),
            addr: source.addr(),
            message: format!(
                "the server refuses SET and DEL on {}, which a killed move left there: delete it (or wait {} s for it to expire) and start the move again",
                String::from_utf8_lossy(PROGRESS_KEY),
                PROGRESS_TTL_MS / 1000
            ),
        }),
    }
}

/// `SET mark done_below PX ttl`, with `NX` to keep a mark that is there.
fn set_mark(done_below: u32, keep: bool) -> Vec<u8> {
    let mut set = redis::cmd("SET");
    set.arg(PROGRESS_KEY)
        .arg(done_below)
        .arg("PX")
        .arg(PROGRESS_TTL_MS);
    if keep {
        set.arg("NX");
    }
    set.get_packed_command()
}

/// `PEXPIRE mark ttl`: the value is the workers' alone.
fn renew() -> Vec<u8> {
    redis::cmd("PEXPIRE")
        .arg(PROGRESS_KEY)
        .arg(PROGRESS_TTL_MS)
        .get_packed_command()
}

/// `DEL mark`.
fn delete_mark() -> Vec<u8> {
    redis::cmd("DEL").arg(PROGRESS_KEY).get_packed_command()
}

/// Renews the lifetime of every source's mark every `RENEW_EVERY` (`renew`) until `stop` is
/// dropped. A source that cannot be reached now is tried again next time.
fn keep_alive(sources: &[NodeConfig], stop: Receiver<()>) {
    let renew = renew();
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
    let del = delete_mark();
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
