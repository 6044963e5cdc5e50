//! MSETNX, PFCOUNT and PFMERGE across masters.

use redis::Value;

use super::common::{Key, error_reply, read_keys, temporary_name};
use crate::commands::SplitMerge;
use crate::error::ClusterError;
use crate::executor::Executor;
use crate::merge;
use crate::router::group_by_master;

/// MSETNX over keys on several masters: all-or-nothing as far as a client can make it. Every
/// key is checked first (EXISTS on each master at once), then all are set (MSET on each master
/// at once). Not atomic: a key created by someone else between the check and the set is
/// overwritten, and a master failing during the set leaves the others' part applied (reported as
/// `ClusterError::Partial`).
pub fn msetnx<A: AsRef<[u8]>>(
    executor: &Executor,
    args: &[A],
    keys: &[Key<'_>],
    positions: &[usize],
) -> Result<Value, ClusterError> {
    if !(args.len() - 1).is_multiple_of(2) {
        return Err(ClusterError::Command(
            "ERR wrong number of arguments for 'msetnx' command".to_owned(),
        ));
    }
    let exists: Vec<(Key<'_>, Vec<&[u8]>)> = keys
        .iter()
        .map(|k| (*k, vec![&b"EXISTS"[..], k.stored]))
        .collect();
    for reply in read_keys(executor, &exists)? {
        match reply {
            Value::Int(0) => {}
            Value::Int(_) => return Ok(Value::Int(0)),
            other => return Ok(other),
        }
    }
    // MSET of the same arguments, split by master: one sub-command per master, every master
    // at once, a failure after others applied their part named as such.
    let mut command: Vec<&[u8]> = vec![b"MSET"];
    command.extend(args[1..].iter().map(AsRef::as_ref));
    let placed: Vec<(usize, usize)> = positions
        .iter()
        .zip(keys)
        .map(|(&at, key)| (at, key.shard))
        .collect();
    let groups = group_by_master(&placed);
    let replies = executor.split(&command, false, 2, &groups);
    merge::all_applied(b"MSET", &replies)?;
    merge::split(SplitMerge::AllOk, replies, &groups, 2)?;
    Ok(Value::Int(1))
}

const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";

/// Redis's own check of a HyperLogLog string (`isHLLObjectOrReply`): a 16-byte header with the
/// `HYLL` magic and a known encoding; a dense one has its exact size. Checked here, key by key
/// in order, so the first bad key decides the error as it does on one server.
fn is_hyperloglog(bytes: &[u8]) -> bool {
    const HEADER: usize = 16;
    const DENSE: u8 = 0;
    const SPARSE: u8 = 1;
    const DENSE_SIZE: usize = HEADER + (16384usize * 6).div_ceil(8);
    bytes.len() >= HEADER
        && &bytes[..4] == b"HYLL"
        && match bytes[4] {
            DENSE => bytes.len() == DENSE_SIZE,
            SPARSE => true,
            _ => false,
        }
}

/// The sources' raw HyperLogLog strings (missing keys skipped), or the error reply.
fn hll_values(
    executor: &Executor,
    sources: &[Key<'_>],
) -> Result<Result<Vec<Vec<u8>>, Value>, ClusterError> {
    let gets: Vec<(Key<'_>, Vec<&[u8]>)> = sources
        .iter()
        .map(|k| (*k, vec![&b"GET"[..], k.stored]))
        .collect();
    let mut values = Vec::new();
    for reply in read_keys(executor, &gets)? {
        match reply {
            Value::Nil => {}
            Value::BulkString(bytes) if is_hyperloglog(&bytes) => values.push(bytes),
            Value::BulkString(_) => return Ok(Err(error_reply(NOT_HLL))),
            error => return Ok(Err(error)),
        }
    }
    Ok(Ok(values))
}

/// Runs `command(scratch keys...)` on `shard` with the HyperLogLogs copied into scratch keys, all
/// inside one MULTI/EXEC, and answers that command's reply.
fn with_scratch_copies(
    executor: &Executor,
    shard: usize,
    values: &[Vec<u8>],
    command: Vec<&[u8]>,
) -> Result<Value, ClusterError> {
    let names: Vec<Vec<u8>> = values
        .iter()
        .map(|_| temporary_name(executor.placement(), shard))
        .collect();
    let mut batch: Vec<(usize, Vec<&[u8]>)> = vec![(shard, vec![b"MULTI"])];
    for (name, value) in names.iter().zip(values) {
        batch.push((shard, vec![b"SET", name, value]));
    }
    let mut run = command;
    run.extend(names.iter().map(Vec::as_slice));
    batch.push((shard, run));
    if !names.is_empty() {
        let mut delete: Vec<&[u8]> = vec![b"DEL"];
        delete.extend(names.iter().map(Vec::as_slice));
        batch.push((shard, delete));
    }
    batch.push((shard, vec![b"EXEC"]));
    match executor.run_on_masters(&batch)?.pop() {
        // EXEC: [OK per SET, the command's reply, DEL's count when there were copies]
        Some(Value::Array(mut replies)) if replies.len() > values.len() => {
            Ok(replies.remove(values.len()))
        }
        Some(error @ Value::ServerError(_)) => Ok(error),
        other => Err(ClusterError::Command(format!(
            "ERR EXEC answered {other:?}"
        ))),
    }
}

/// PFCOUNT over keys on several masters: the union's cardinality, computed by Redis itself on
/// the first key's master from copies of the other HyperLogLogs.
pub fn pfcount(executor: &Executor, keys: &[Key<'_>]) -> Result<Value, ClusterError> {
    let values = match hll_values(executor, keys)? {
        Ok(values) => values,
        Err(error) => return Ok(error),
    };
    if values.is_empty() {
        return Ok(Value::Int(0));
    }
    with_scratch_copies(executor, keys[0].shard, &values, vec![b"PFCOUNT"])
}

/// PFMERGE destination source... with sources on other masters.
pub fn pfmerge(
    executor: &Executor,
    destination: Key<'_>,
    sources: &[Key<'_>],
) -> Result<Value, ClusterError> {
    // Redis checks the destination first, then the sources; merging the destination's own copy
    // back into it changes nothing.
    let all: Vec<Key<'_>> = std::iter::once(destination)
        .chain(sources.iter().copied())
        .collect();
    let values = match hll_values(executor, &all)? {
        Ok(values) => values,
        Err(error) => return Ok(error),
    };
    with_scratch_copies(
        executor,
        destination.shard,
        &values,
        vec![b"PFMERGE", destination.stored],
    )
}
