//! Per-node transactions (`cross_node_transactions: "per_node"` in the config): a transaction
//! whose keys are on several masters runs as one MULTI/EXEC per master, each command in its
//! master's. Atomic on each master, NOT across masters: another client may see one master's
//! part applied before another's, and nothing undoes a master's part once its EXEC ran.
//!
//! It runs in two phases, so that what can be refused is refused everywhere:
//!
//! 1. on a connection held for the transaction on each master (the WATCH's own on the watched
//!    master), MULTI and the queued commands are written to every master, then every QUEUED
//!    reply is read;
//! 2. a command a master refused to queue (an EXECABORT to come) aborts them all: EXEC there
//!    (its EXECABORT is the error), DISCARD on the others, nothing applied anywhere. Otherwise,
//!    under WATCH the watched master's EXEC runs alone first: when it aborts (a watched key
//!    changed), the others are discarded and the answer is nil, nothing applied. Then every
//!    other master's EXEC is written at once and read.
//!
//! What can still split a transaction is a master failing at its EXEC (connection lost,
//! timeout, an error reply) while others committed: `ClusterError::Partial` names the failed
//! masters and, in `applied`, the ones that committed. The replies come back in the caller's
//! command order, as from one EXEC.

use std::collections::BTreeMap;

use redis::Value;

use crate::error::ClusterError;
use crate::executor::Executor;
use crate::node::pool::Pinned;
use crate::pipeline::OneConnection;
use crate::router::{DEFAULT_SHARD, Plan, plan};
use crate::wire::request::pack_command;

/// One master's part: the caller's indexes of its commands, its planned commands and the
/// connection held for it (`None` once broken: closed, its part in doubt).
struct Part<'c, A> {
    shard: usize,
    indexes: Vec<usize>,
    queued: OneConnection<'c, A>,
    pinned: Option<Pinned>,
}

/// Runs `commands` as one MULTI/EXEC per master (see the module's comment). `watched` is the
/// master and connection a WATCH holds: its part runs there, and decides first. Answers EXEC's
/// array in the caller's order, `Value::Nil` when the watched master aborted (nothing applied).
pub fn run<A: AsRef<[u8]>>(
    executor: &Executor,
    commands: &[Vec<A>],
    watched: Option<(usize, Pinned)>,
) -> Result<Value, ClusterError> {
    let watched_shard = watched.as_ref().map(|(shard, _)| *shard);
    // On an error before anything is sent, the watch's connection is closed with its WATCH.
    let groups = group_by_master(executor, commands, watched_shard)?;
    let mut watched = watched.map(|(_, pinned)| pinned);
    let mut parts = Vec::with_capacity(groups.len());
    for (shard, indexes) in groups {
        let queued = OneConnection::plan(
            executor,
            indexes.iter().map(|&i| commands[i].as_slice()),
            Some(shard),
            "multi",
        )?;
        parts.push(Part {
            shard,
            indexes,
            queued,
            pinned: None,
        });
    }
    // Held connections: the watch's, then one per other master (none written to yet, so a
    // master that cannot be reached ends it all with nothing sent).
    for part in &mut parts {
        part.pinned = Some(match watched_shard {
            Some(shard) if shard == part.shard => watched.take().expect("one watched master"),
            _ => match executor.master(part.shard).pin() {
                Ok(pinned) => pinned,
                Err(error) => {
                    // Nothing written: every connection goes back, but the watch's is closed
                    // (with its WATCH).
                    if let Some(shard) = watched_shard
                        && let Some(part) = parts.iter_mut().find(|p| p.shard == shard)
                    {
                        part.pinned = None;
                    }
                    release_all(executor, &mut parts);
                    return Err(error);
                }
            },
        });
    }

    // Phase 1: MULTI and the commands on every master, then every QUEUED reply (all of them
    // read before anything else is written, so each connection is in step).
    for part in &mut parts {
        let (packed, _) = part.queued.pack_queued();
        send(executor, part, &packed);
    }
    let mut refused = None;
    let mut broke = None;
    for part in &mut parts {
        let (_, count) = part.queued.pack_queued();
        match receive(executor, part, count) {
            Ok(replies) => {
                if refused.is_none() && replies.iter().any(|r| matches!(r, Value::ServerError(_))) {
                    refused = Some(part.shard);
                }
            }
            // This master's transaction is gone with its connection.
            Err(error) => broke = broke.or(Some(error)),
        }
    }
    if let Some(error) = broke {
        // No EXEC was sent: nothing ran anywhere.
        end_all(executor, &mut parts, "DISCARD");
        return Err(error);
    }
    if let Some(shard) = refused {
        return Err(abort_where_refused(executor, &mut parts, shard));
    }

    // Phase 2: the watched master decides first, then every other master's EXEC at once.
    let mut execs: BTreeMap<usize, Result<Value, ClusterError>> = BTreeMap::new();
    if let Some(shard) = watched_shard {
        let part = parts
            .iter_mut()
            .find(|p| p.shard == shard)
            .expect("watched part");
        let exec = exchange_exec(executor, part);
        match &exec {
            Ok(Value::Nil) => {
                end_all(executor, &mut parts, "DISCARD");
                return Ok(Value::Nil);
            }
            Ok(Value::Array(_)) => {}
            // Broken or refused: the others are discarded, and its error is the answer.
            _ => {
                end_all(executor, &mut parts, "DISCARD");
                return Err(exec_failure(executor, shard, exec, "answered EXEC"));
            }
        }
        execs.insert(shard, exec);
    }
    let mut packed_exec = Vec::new();
    pack_command(&["EXEC"], &[], &mut packed_exec);
    for part in parts.iter_mut().filter(|p| !execs.contains_key(&p.shard)) {
        send(executor, part, &packed_exec);
    }
    for part in parts.iter_mut().filter(|p| Some(p.shard) != watched_shard) {
        let exec = receive(executor, part, 1).map(|mut replies| replies.pop().expect("one reply"));
        execs.insert(part.shard, exec);
    }
    release_all(executor, &mut parts);
    answer(executor, commands.len(), parts, execs)
}

/// The caller's answer from every master's EXEC reply: the replies in the caller's order, or,
/// when a master failed, that failure alone if no master committed, else a `Partial` error
/// naming the masters that committed.
fn answer<A: AsRef<[u8]>>(
    executor: &Executor,
    count: usize,
    parts: Vec<Part<'_, A>>,
    mut execs: BTreeMap<usize, Result<Value, ClusterError>>,
) -> Result<Value, ClusterError> {
    let mut failed = Vec::new();
    let mut applied = Vec::new();
    for (&shard, exec) in &execs {
        let name = executor.master_name(shard).to_owned();
        match exec {
            Ok(Value::Array(_)) => applied.push(name),
            Ok(Value::ServerError(error)) => failed.push(ClusterError::Server {
                node: name,
                error: error.clone(),
            }),
            Ok(other) => failed.push(ClusterError::Command(format!(
                "ERR {name} answered EXEC with {other:?}"
            ))),
            Err(error) => failed.push(error.clone()),
        }
    }
    if !failed.is_empty() {
        if applied.is_empty() && failed.len() == 1 {
            return Err(failed.pop().expect("one failure"));
        }
        return Err(ClusterError::Partial {
            command: "per-node transaction (one MULTI/EXEC per master, atomic per node only)"
                .to_owned(),
            failed,
            applied,
        });
    }
    let mut replies: Vec<Value> = vec![Value::Nil; count];
    for part in parts {
        let exec = execs
            .remove(&part.shard)
            .expect("every part has its EXEC")?;
        match part.queued.settle_exec(executor, Ok(vec![exec]))? {
            Value::Array(values) if values.len() == part.indexes.len() => {
                for (at, value) in part.indexes.into_iter().zip(values) {
                    replies[at] = value;
                }
            }
            other => {
                return Err(ClusterError::Command(format!(
                    "ERR {} answered EXEC with {other:?}",
                    executor.master_name(part.shard)
                )));
            }
        }
    }
    Ok(Value::Array(replies))
}

/// Each command's master (its keys' one, or for a command without keys the watched master,
/// else the first keyed command's): `master -> the caller's indexes`, ascending. A command
/// whose own keys are on several masters cannot be in one master's MULTI/EXEC: refused, nothing
/// sent.
fn group_by_master<A: AsRef<[u8]>>(
    executor: &Executor,
    commands: &[Vec<A>],
    watched: Option<usize>,
) -> Result<BTreeMap<usize, Vec<usize>>, ClusterError> {
    let masters = executor.unit_count();
    let mut shards = Vec::with_capacity(commands.len());
    for args in commands {
        shards.push(match plan(args, executor.placement(), masters)? {
            Plan::Single {
                shard, keyed: true, ..
            } => Some(shard),
            Plan::Split { groups, .. } => {
                return Err(spans_masters(
                    executor,
                    args,
                    groups.iter().map(|g| g.shard),
                ));
            }
            Plan::Emulated { keys, .. } if keys.iter().any(|k| k.1 != keys[0].1) => {
                return Err(spans_masters(executor, args, keys.iter().map(|(_, s)| *s)));
            }
            // Without keys (or refused by the one-master planning that follows).
            _ => None,
        });
    }
    let home = watched
        .or_else(|| shards.iter().flatten().next().copied())
        .unwrap_or(DEFAULT_SHARD);
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (at, shard) in shards.into_iter().enumerate() {
        groups.entry(shard.unwrap_or(home)).or_default().push(at);
    }
    // The watched master takes part even with no command of its own: its EXEC decides.
    if let Some(shard) = watched {
        groups.entry(shard).or_default();
    }
    Ok(groups)
}

fn spans_masters<A: AsRef<[u8]>>(
    executor: &Executor,
    args: &[A],
    shards: impl Iterator<Item = usize>,
) -> ClusterError {
    let mut nodes: Vec<usize> = shards.collect();
    nodes.sort_unstable();
    nodes.dedup();
    ClusterError::CrossNode {
        command: String::from_utf8_lossy(args[0].as_ref()).to_ascii_lowercase(),
        nodes: nodes.into_iter().map(|u| executor.unit_name(u)).collect(),
        reason: "in a per-node transaction each command runs in its master's MULTI/EXEC, so one command's own keys must share a node: give them a common hash tag, or send one command per node",
    }
}

/// A master refused to queue a command: EXEC there (its EXECABORT, nothing applied, is the
/// error), DISCARD on every other master.
fn abort_where_refused<A: AsRef<[u8]>>(
    executor: &Executor,
    parts: &mut [Part<'_, A>],
    refused: usize,
) -> ClusterError {
    let part = parts
        .iter_mut()
        .find(|p| p.shard == refused)
        .expect("refusing part");
    let exec = exchange_exec(executor, part);
    let error = exec_failure(
        executor,
        refused,
        exec,
        "refused a queued command but answered EXEC",
    );
    end_all(executor, parts, "DISCARD");
    error
}

/// The error a master's EXEC that did not commit stands for: its error reply, its failure, or
/// (`what` it did) the unexpected reply it gave.
fn exec_failure(
    executor: &Executor,
    shard: usize,
    exec: Result<Value, ClusterError>,
    what: &str,
) -> ClusterError {
    match exec {
        Ok(Value::ServerError(error)) => ClusterError::Server {
            node: executor.master_name(shard).to_owned(),
            error,
        },
        Ok(other) => ClusterError::Command(format!(
            "ERR {} {what} with {other:?}",
            executor.master_name(shard)
        )),
        Err(error) => error,
    }
}

/// EXEC on one part's connection, alone; its reply (an error reply stays a value).
fn exchange_exec<A>(executor: &Executor, part: &mut Part<'_, A>) -> Result<Value, ClusterError> {
    let mut packed = Vec::new();
    pack_command(&["EXEC"], &[], &mut packed);
    send(executor, part, &packed);
    receive(executor, part, 1).map(|mut replies| replies.pop().expect("one reply"))
}

/// Writes on a part's connection; a failure closes it (the read that follows reports it).
fn send<A>(executor: &Executor, part: &mut Part<'_, A>, packed: &[u8]) {
    let pool = executor.master(part.shard);
    if let Some(pinned) = part.pinned.as_mut()
        && pinned.send(pool, packed).is_err()
    {
        part.pinned = None;
    }
}

/// Reads a part's replies; an error when its connection is closed or broke now (it is then
/// closed).
fn receive<A>(
    executor: &Executor,
    part: &mut Part<'_, A>,
    count: usize,
) -> Result<Vec<Value>, ClusterError> {
    let pool = executor.master(part.shard);
    let Some(pinned) = part.pinned.as_mut() else {
        return Err(broken(executor, part.shard));
    };
    let replies = pinned.receive(pool, count);
    if replies.is_err() {
        part.pinned = None;
    }
    replies
}

fn broken(executor: &Executor, shard: usize) -> ClusterError {
    let pool = executor.master(shard);
    ClusterError::from_redis(
        pool.name(),
        &pool.config().addr(),
        std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "the connection broke during a per-node transaction (its part there is in doubt)",
        )
        .into(),
    )
}

/// Sends `command` (DISCARD) on every part still holding a connection in a transaction, and
/// gives the connections back (those that fail are closed: the server drops the transaction
/// and any WATCH with them).
fn end_all<A>(executor: &Executor, parts: &mut [Part<'_, A>], command: &str) {
    let mut packed = Vec::new();
    pack_command(&[command], &[], &mut packed);
    for part in parts.iter_mut() {
        send(executor, part, &packed);
    }
    for part in parts.iter_mut() {
        if part.pinned.is_some() {
            let _ = receive(executor, part, 1);
        }
    }
    release_all(executor, parts);
}

/// Every connection still held goes back to its pool (only once it carries no transaction and
/// no WATCH: after EXEC, DISCARD, or before anything was written).
fn release_all<A>(executor: &Executor, parts: &mut [Part<'_, A>]) {
    for part in parts.iter_mut() {
        if let Some(pinned) = part.pinned.take() {
            pinned.release(executor.master(part.shard));
        }
    }
}
