//! The source side of `copy` and `reshard`, ahead of the writes: a thread per source walks it
//! with SCAN and reads the keys the job takes with DUMP + PEXPIRETIME, the next SCAN in the
//! same round trip, and hands each batch over through a channel `AHEAD` batches deep while the
//! job restores the batches before it. The source's own work (SCAN, DUMP) and the
//! destinations' (RESTORE) then overlap instead of taking turns.

use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::Scope;

use cluster_core::{NodeConfig, NodeConnection};
use redis::Value;

use crate::error::ToolError;
use crate::nodes::connect;

/// Batches read ahead of the one being written.
const AHEAD: usize = 2;

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
}

/// What to scan on a source and how.
pub struct Walk<'a> {
    pub source: &'a NodeConfig,
    /// The cursor to start from (0: the beginning).
    pub cursor: u64,
    pub pattern: Option<&'a str>,
    pub batch: usize,
    /// Count the keys the job would take (`Batch::would_take`) without reading them.
    pub dry_run: bool,
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
        let result = (|| {
            let mut connection = connect(walk.source)?;
            let first = scan_command(&walk, walk.cursor);
            let reply = run(&mut connection, walk.source, &first, 1)?;
            let (mut cursor, mut keys) = scan_reply(walk.source, &reply[0])?;
            loop {
                let (batch, next) = read_batch(&mut connection, &walk, cursor, keys, choose)?;
                if sender.send(Ok(batch)).is_err() {
                    return Ok(()); // the job stopped
                }
                match next {
                    Some((after, more)) => (cursor, keys) = (after, more),
                    None => return Ok(()),
                }
            }
        })();
        if let Err(error) = result {
            let _ = sender.send(Err(error));
        }
    });
    batches
}

/// The next SCAN step: its cursor and keys.
type Step = (u64, Vec<Vec<u8>>);

/// Reads the keys of one SCAN step that the job takes, and scans the next step in the same
/// round trip; the batch, and the next step unless this was the last.
fn read_batch(
    connection: &mut NodeConnection,
    walk: &Walk<'_>,
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
            Choice::Take(_) | Choice::TakeAs(_) if walk.dry_run => batch.would_take += 1,
            Choice::Take(target) => taken.push((key, target, None)),
            Choice::TakeAs(name) => taken.push((key, 0, Some(name))),
            Choice::Stay => batch.stayed += 1,
            Choice::Unplaceable => batch.unplaceable += 1,
        }
    }
    let mut packed = Vec::new();
    for (key, _, _) in &taken {
        redis::cmd("DUMP")
            .arg(key)
            .write_packed_command(&mut packed);
        redis::cmd("PEXPIRETIME")
            .arg(key)
            .write_packed_command(&mut packed);
    }
    let more = cursor != 0;
    if more {
        packed.extend(scan_command(walk, cursor));
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
                    node: walk.source.name.clone(),
                    addr: walk.source.addr(),
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
    Ok((batch, next))
}

fn scan_command(walk: &Walk<'_>, cursor: u64) -> Vec<u8> {
    let mut scan = redis::cmd("SCAN");
    scan.arg(cursor);
    if let Some(pattern) = walk.pattern {
        scan.arg("MATCH").arg(pattern);
    }
    scan.arg("COUNT").arg(walk.batch);
    scan.get_packed_command()
}

fn scan_reply(source: &NodeConfig, reply: &Value) -> Result<Step, ToolError> {
    redis::from_redis_value_ref(reply).map_err(|e| ToolError::Node {
        node: source.name.clone(),
        addr: source.addr(),
        message: format!("SCAN answered {reply:?}: {e}"),
    })
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
