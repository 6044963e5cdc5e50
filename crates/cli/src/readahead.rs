//! The source side of `copy` and `reshard`, ahead of the writes: a thread per source walks it
//! with SCAN and reads the keys the job takes with DUMP + PEXPIRETIME, the next SCAN in the
//! same round trip, and hands each batch over through a channel `AHEAD` batches deep while the
//! job restores the batches before it. The source's own work (SCAN, DUMP) and the
//! destinations' (RESTORE) then overlap instead of taking turns.
//!
//! A move (`Order::Buckets`) takes the keys in the order of their bucket instead
//! (`cluster_core::move_progress`): it first collects the source's names (a pass at a time,
//! `KEYS_PER_PASS` names held at once), sorts them, then reads them a batch at a time, each
//! batch saying below which bucket the source will hold no key that moves once it is written.
//! The move's own mark, `PROGRESS_KEY`, is never taken.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::Scope;

use cluster_core::move_progress::{PROGRESS_KEY, bucket};
use cluster_core::placement::distribution::SLOTS;
use cluster_core::{NodeConfig, NodeConnection};
use redis::Value;

use crate::error::ToolError;
use crate::nodes::connect;

/// Batches read ahead of the one being written.
const AHEAD: usize = 2;

/// A walk in bucket order holds at most about this many names at once: a source with more is
/// walked in several passes, each over a range of buckets.
const KEYS_PER_PASS: u64 = 1 << 20;

/// SCAN's COUNT while a walk in bucket order collects names: short steps, so the source's
/// other clients never wait long behind one.
const NAMES_PER_SCAN: usize = 250;

/// In a paced walk, the share (in percent) of its time the name collection keeps the source
/// busy at most: after each SCAN it waits (100 / share - 1) times as long as the SCAN took.
/// Unpaced, a source's names are read back to back, for a second or so per million, and every
/// read of the application's that arrives meanwhile waits behind a SCAN: a bump in its tail.
const SCAN_SHARE: u32 = 10;

/// What the job does with a scanned key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Choice {
    /// Read it and write it to this master of the destination.
    Take(usize),
    /// Read it and write it to the destination Redis Cluster (which places it) under this
    /// name: the key as the client wrote it, recovered from the name it was stored under.
    TakeAs(Vec<u8>),
    /// It stays where it is.
    Stay,
    /// It cannot be placed (it stays, counted).
    Unplaceable,
}

/// A key read from the source for the destination master `target` (0 on a Redis Cluster,
/// which places keys itself).
pub struct Dumped {
    pub key: Vec<u8>,
    pub target: usize,
    /// The name it takes on a Redis Cluster (`Choice::TakeAs`).
    pub rename: Option<Vec<u8>>,
    pub payload: Vec<u8>,
    /// PEXPIRETIME: -1 for none, else the expiry instant in Unix milliseconds.
    pub expire_at: i64,
}

impl Dumped {
    /// The name it is written under: its new name on a Redis Cluster, else `name`.
    pub fn name_or<'a>(&'a self, name: &'a [u8]) -> &'a [u8] {
        self.rename.as_deref().unwrap_or(name)
    }
}

/// One SCAN step, read.
#[derive(Default)]
pub struct Batch {
    /// The cursor after this batch: where a resumed job continues once it is written.
    pub cursor: u64,
    pub scanned: u64,
    pub stayed: u64,
    pub unplaceable: u64,
    /// Keys taken but gone (expired, deleted) by the time they were read.
    pub vanished: u64,
    /// In a dry run: the keys the job would have taken.
    pub would_take: u64,
    pub dumped: Vec<Dumped>,
    /// In bucket order: once this batch is written, the source holds no key that moves (or
    /// stays behind, unplaceable) in a bucket below this one.
    pub done_below: Option<u32>,
}

/// What to scan on a source and how.
pub struct Walk<'a> {
    pub source: &'a NodeConfig,
    pub pattern: Option<&'a str>,
    pub batch: usize,
    pub order: Order,
}

/// The order a walk takes a source's keys in.
pub enum Order {
    /// SCAN's, from `cursor` (0: the beginning). A dry run counts the keys the job would take
    /// (`Batch::would_take`) without reading them.
    Scan { cursor: u64, dry_run: bool },
    /// Their buckets' (a move, which publishes how far it got), always from the first bucket:
    /// the keys moved before are gone from the source. `paced` (a live move under `--rate`):
    /// the names are collected gently (`SCAN_SHARE`).
    Buckets { paced: bool },
}

/// Starts the walk of `walk.source` on a thread of `scope`; its batches (or the error that
/// ended it) arrive in order. Dropping the receiver stops the walk after its current round trip.
pub fn read_ahead<'scope, 'env>(
    scope: &'scope Scope<'scope, 'env>,
    walk: Walk<'env>,
    choose: &'env (dyn Fn(&[u8]) -> Choice + Sync),
) -> Receiver<Result<Batch, ToolError>> {
    let (sender, batches) = sync_channel(AHEAD);
    scope.spawn(move || {
        let result = connect(walk.source).and_then(|mut connection| match walk.order {
            Order::Scan { cursor, dry_run } => {
                walk_in_scan_order(&mut connection, &walk, cursor, dry_run, choose, &sender)
            }
            Order::Buckets { paced } => {
                walk_in_bucket_order(&mut connection, &walk, paced, choose, &sender)
            }
        });
        if let Err(error) = result {
            let _ = sender.send(Err(error));
        }
    });
    batches
}

/// The walk of a copy (and of a dry run): SCAN step by step from `cursor`, each step's keys
/// read in the round trip of the next SCAN (`read_batch`).
fn walk_in_scan_order(
    connection: &mut NodeConnection,
    walk: &Walk<'_>,
    cursor: u64,
    dry_run: bool,
    choose: &(dyn Fn(&[u8]) -> Choice + Sync),
    sender: &SyncSender<Result<Batch, ToolError>>,
) -> Result<(), ToolError> {
    let first = scan_command(walk, cursor, walk.batch);
    let reply = run(connection, walk.source, &first, 1)?;
    let (mut cursor, mut keys) = scan_reply(walk.source, &reply[0])?;
    loop {
        let (batch, next) = read_batch(connection, walk, dry_run, cursor, keys, choose)?;
        if sender.send(Ok(batch)).is_err() {
            return Ok(()); // the job stopped
        }
        match next {
            Some((after, more)) => (cursor, keys) = (after, more),
            None => return Ok(()),
        }
    }
}

/// The next SCAN step: its cursor and keys.
type Step = (u64, Vec<Vec<u8>>);

/// Reads the keys of one SCAN step that the job takes, and scans the next step in the same
/// round trip; the batch, and the next step unless this was the last.
fn read_batch(
    connection: &mut NodeConnection,
    walk: &Walk<'_>,
    dry_run: bool,
    cursor: u64,
    keys: Vec<Vec<u8>>,
    choose: &(dyn Fn(&[u8]) -> Choice + Sync),
) -> Result<(Batch, Option<Step>), ToolError> {
    let mut batch = Batch {
        cursor,
        scanned: keys.len() as u64,
        ..Batch::default()
    };
    let mut taken = Vec::new();
    for key in keys {
        match choose(&key) {
            Choice::Stay => batch.stayed += 1,
            Choice::Unplaceable => batch.unplaceable += 1,
            _ if dry_run => batch.would_take += 1,
            choice => taken.extend(take(key, choice)),
        }
    }
    let mut packed = Vec::new();
    pack_dumps(&taken, &mut packed);
    let more = cursor != 0;
    if more {
        packed.extend(scan_command(walk, cursor, walk.batch));
    }
    let count = 2 * taken.len() + usize::from(more);
    let mut replies = if count == 0 {
        Vec::new()
    } else {
        run(connection, walk.source, &packed, count)?
    };
    let next = if more {
        let reply = replies.pop().expect("the SCAN reply");
        Some(scan_reply(walk.source, &reply)?)
    } else {
        None
    };
    take_dumps(&mut batch, walk.source, taken, replies)?;
    Ok((batch, next))
}

/// A key the job takes: its name, its destination master, its name there (`Dumped`).
type Taken = (Vec<u8>, usize, Option<Vec<u8>>);

/// The key as the job takes it, if its choice is to take it.
fn take(key: Vec<u8>, choice: Choice) -> Option<Taken> {
    match choice {
        Choice::Take(target) => Some((key, target, None)),
        Choice::TakeAs(name) => Some((key, 0, Some(name))),
        Choice::Stay | Choice::Unplaceable => None,
    }
}

/// DUMP and PEXPIRETIME of each key taken.
fn pack_dumps(taken: &[Taken], packed: &mut Vec<u8>) {
    for (key, _, _) in taken {
        redis::cmd("DUMP").arg(key).write_packed_command(packed);
        redis::cmd("PEXPIRETIME")
            .arg(key)
            .write_packed_command(packed);
    }
}

/// Puts each key taken into the batch with its `pack_dumps` replies (a key gone meanwhile is
/// counted as vanished); a refused DUMP is the error.
fn take_dumps(
    batch: &mut Batch,
    source: &NodeConfig,
    taken: Vec<Taken>,
    replies: Vec<Value>,
) -> Result<(), ToolError> {
    let mut replies = replies.into_iter();
    for (key, target, rename) in taken {
        match (replies.next(), replies.next()) {
            (Some(Value::BulkString(payload)), Some(Value::Int(expire_at))) if expire_at != -2 => {
                batch.dumped.push(Dumped {
                    key,
                    target,
                    rename,
                    payload,
                    expire_at,
                })
            }
            (Some(Value::ServerError(e)), _) | (_, Some(Value::ServerError(e))) => {
                return Err(ToolError::Node {
                    node: source.name.clone(),
                    addr: source.addr(),
                    message: format!(
                        "DUMP of {} failed: {} {}",
                        String::from_utf8_lossy(&key),
                        e.code(),
                        e.details().unwrap_or("")
                    ),
                });
            }
            _ => batch.vanished += 1,
        }
    }
    Ok(())
}

/// The walk of a move: pass by pass over ranges of buckets, the names of each range collected,
/// sorted and counted, then read a batch at a time in that order. Every batch says how far the
/// source is done once it is written (`Batch::done_below`); the pass's counts go with its
/// first batch (one without keys when the range has none to take), but for the keys that
/// cannot be placed, counted once in the last batch (a run killed before it counted none: the
/// run that resumes it walks the whole source again). The last batch, which ends the source,
/// has cursor 0, the others a cursor that is not.
fn walk_in_bucket_order(
    connection: &mut NodeConnection,
    walk: &Walk<'_>,
    paced: bool,
    choose: &(dyn Fn(&[u8]) -> Choice + Sync),
    sender: &SyncSender<Result<Batch, ToolError>>,
) -> Result<(), ToolError> {
    let size = key_count(connection, walk.source)?;
    let passes = (size / KEYS_PER_PASS + 1).min(SLOTS as u64) as usize;
    let width = SLOTS.div_ceil(passes) as u32;
    // The lowest bucket of a key left behind (unplaceable): the source is never done past it.
    let mut floor = SLOTS as u32;
    let mut unplaceable = 0;
    for low in (0..SLOTS as u32).step_by(width as usize) {
        let high = (low + width).min(SLOTS as u32);
        let names = names_in(connection, walk, paced, low..high)?;
        let mut counts = Batch {
            scanned: names.len() as u64,
            ..Batch::default()
        };
        let mut taken = Vec::new();
        for (bucket, name) in names {
            match choose(&name) {
                Choice::Take(_) | Choice::TakeAs(_) => taken.push((bucket, name)),
                Choice::Stay => counts.stayed += 1,
                Choice::Unplaceable => {
                    unplaceable += 1;
                    floor = floor.min(bucket);
                }
            }
        }
        // Where the source is done once the keys before `next` are written.
        let done_below = |next: Option<&(u32, Vec<u8>)>| next.map_or(high, |n| n.0).min(floor);
        counts.done_below = Some(done_below(taken.first()));
        counts.cursor = 1 + u64::from(done_below(taken.first()));
        if sender.send(Ok(counts)).is_err() {
            return Ok(()); // the job stopped
        }
        let size = walk.batch.max(1);
        for (at, chunk) in taken.chunks(size).enumerate() {
            let after = taken.get((at + 1) * size);
            let batch = read_in_order(connection, walk, choose, chunk, done_below(after))?;
            if sender.send(Ok(batch)).is_err() {
                return Ok(());
            }
        }
    }
    let end = Batch {
        unplaceable,
        done_below: Some(floor),
        ..Batch::default()
    };
    let _ = sender.send(Ok(end));
    Ok(())
}

/// DBSIZE: how many names a walk in bucket order will meet (it sizes the passes).
fn key_count(connection: &mut NodeConnection, source: &NodeConfig) -> Result<u64, ToolError> {
    let dbsize = redis::cmd("DBSIZE").get_packed_command();
    match &run(connection, source, &dbsize, 1)?[..] {
        [Value::Int(size)] => Ok((*size).max(0) as u64),
        reply => Err(ToolError::Node {
            node: source.name.clone(),
            addr: source.addr(),
            message: format!("DBSIZE answered {reply:?}"),
        }),
    }
}

/// The names on the source whose bucket is in `buckets`, sorted by bucket then name, each once
/// (SCAN may return a name twice); `paced`, at most `SCAN_SHARE` of the source's time.
fn names_in(
    connection: &mut NodeConnection,
    walk: &Walk<'_>,
    paced: bool,
    buckets: std::ops::Range<u32>,
) -> Result<Vec<(u32, Vec<u8>)>, ToolError> {
    let mut names = Vec::new();
    let mut cursor = 0;
    loop {
        let scan = scan_command(walk, cursor, NAMES_PER_SCAN);
        let asked = std::time::Instant::now();
        let reply = run(connection, walk.source, &scan, 1)?;
        if paced {
            std::thread::sleep(asked.elapsed() * (100 / SCAN_SHARE - 1));
        }
        let (next, keys) = scan_reply(walk.source, &reply[0])?;
        for key in keys {
            let bucket = bucket(&key);
            if buckets.contains(&bucket) {
                names.push((bucket, key));
            }
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
    names.sort_unstable();
    names.dedup();
    Ok(names)
}

/// Reads one batch of a walk in bucket order: the keys of `chunk` the job still takes.
fn read_in_order(
    connection: &mut NodeConnection,
    walk: &Walk<'_>,
    choose: &(dyn Fn(&[u8]) -> Choice + Sync),
    chunk: &[(u32, Vec<u8>)],
    done_below: u32,
) -> Result<Batch, ToolError> {
    // The choice again rather than held for every name of the pass (a renamed key's new name
    // would double what the pass holds): the same, it depends on the name alone.
    let taken: Vec<Taken> = chunk
        .iter()
        .filter_map(|(_, key)| take(key.clone(), choose(key)))
        .collect();
    let mut batch = Batch {
        cursor: 1 + u64::from(done_below),
        done_below: Some(done_below),
        ..Batch::default()
    };
    let mut packed = Vec::new();
    pack_dumps(&taken, &mut packed);
    let replies = run(connection, walk.source, &packed, 2 * taken.len())?;
    take_dumps(&mut batch, walk.source, taken, replies)?;
    Ok(batch)
}

fn scan_command(walk: &Walk<'_>, cursor: u64, count: usize) -> Vec<u8> {
    let mut scan = redis::cmd("SCAN");
    scan.arg(cursor);
    if let Some(pattern) = walk.pattern {
        scan.arg("MATCH").arg(pattern);
    }
    scan.arg("COUNT").arg(count);
    scan.get_packed_command()
}

/// A SCAN step's cursor and names, the move's own mark (`PROGRESS_KEY`) left out: never taken,
/// never counted.
fn scan_reply(source: &NodeConfig, reply: &Value) -> Result<Step, ToolError> {
    let (cursor, mut keys): Step =
        redis::from_redis_value_ref(reply).map_err(|e| ToolError::Node {
            node: source.name.clone(),
            addr: source.addr(),
            message: format!("SCAN answered {reply:?}: {e}"),
        })?;
    keys.retain(|key| key != PROGRESS_KEY);
    Ok((cursor, keys))
}

/// Writes packed commands and reads their `count` replies (error replies as values).
pub fn run(
    connection: &mut NodeConnection,
    node: &NodeConfig,
    packed: &[u8],
    count: usize,
) -> Result<Vec<Value>, ToolError> {
    connection
        .send(packed)
        .and_then(|()| connection.receive(count))
        .map_err(|e| ToolError::node(node, &e))
}
