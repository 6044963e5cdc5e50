//! MSETNX, PFCOUNT and PFMERGE across masters.

use std::hash::{BuildHasher, Hasher};

use redis::Value;

use super::{Key, error_reply};
use crate::cluster::Cluster;
use crate::error::ClusterError;

/// MSETNX over keys on several masters: all-or-nothing as far as a client can make it. Every
/// key is checked first (EXISTS on each master at once), then all are set (MSET on each master
/// at once). Not atomic: a key created by someone else between the check and the set is
/// overwritten, and a master failing during the set leaves the others' part applied (reported as
/// `ClusterError::Partial`).
pub(crate) fn msetnx<A: AsRef<[u8]>>(
    cluster: &Cluster,
    args: &[A],
    keys: &[Key<'_>],
) -> Result<Value, ClusterError> {
    if !(args.len() - 1).is_multiple_of(2) {
        return Err(ClusterError::Command(
            "ERR wrong number of arguments for 'msetnx' command".to_owned(),
        ));
    }
    let exists: Vec<(usize, Vec<&[u8]>)> = keys
        .iter()
        .map(|k| (k.shard, vec![&b"EXISTS"[..], k.stored]))
        .collect();
    for reply in cluster.run_on_masters(&exists)? {
        match reply {
            Value::Int(0) => {}
            Value::Int(_) => return Ok(Value::Int(0)),
            other => return Ok(other),
        }
    }
    // MSET of the same arguments (keys as the caller wrote them, tags included, so they route
    // as they did) is a split command: one sub-command per master, failures named.
    let mut command: Vec<&[u8]> = vec![b"MSET"];
    command.extend(args[1..].iter().map(AsRef::as_ref));
    cluster.execute(&command)?;
    Ok(Value::Int(1))
}

/// A key name for a value that lives only inside one MULTI/EXEC (created and deleted there, so
/// nobody ever sees it); random, so it cannot meet a user's key.
fn scratch_key() -> Vec<u8> {
    let a = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let b = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    format!("rediscluster:scratch:{a:016x}{b:016x}").into_bytes()
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
    cluster: &Cluster,
    sources: &[Key<'_>],
) -> Result<Result<Vec<Vec<u8>>, Value>, ClusterError> {
    let gets: Vec<(usize, Vec<&[u8]>)> = sources
        .iter()
        .map(|k| (k.shard, vec![&b"GET"[..], k.stored]))
        .collect();
    let mut values = Vec::new();
    for reply in cluster.run_on_masters(&gets)? {
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
    cluster: &Cluster,
    shard: usize,
    values: &[Vec<u8>],
    command: Vec<&[u8]>,
) -> Result<Value, ClusterError> {
    let names: Vec<Vec<u8>> = values.iter().map(|_| scratch_key()).collect();
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
    match cluster.run_on_masters(&batch)?.pop() {
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
pub(crate) fn pfcount(cluster: &Cluster, keys: &[Key<'_>]) -> Result<Value, ClusterError> {
    let values = match hll_values(cluster, keys)? {
        Ok(values) => values,
        Err(error) => return Ok(error),
    };
    if values.is_empty() {
        return Ok(Value::Int(0));
    }
    with_scratch_copies(cluster, keys[0].shard, &values, vec![b"PFCOUNT"])
}

/// PFMERGE destination source... with sources on other masters.
pub(crate) fn pfmerge(
    cluster: &Cluster,
    destination: Key<'_>,
    sources: &[Key<'_>],
) -> Result<Value, ClusterError> {
    // Redis checks the destination first, then the sources; merging the destination's own copy
    // back into it changes nothing.
    let all: Vec<Key<'_>> = std::iter::once(destination)
        .chain(sources.iter().copied())
        .collect();
    let values = match hll_values(cluster, &all)? {
        Ok(values) => values,
        Err(error) => return Ok(error),
    };
    with_scratch_copies(
        cluster,
        destination.shard,
        &values,
        vec![b"PFMERGE", destination.stored],
    )
}
