//! Set algebra across masters: SUNION / SINTER / SDIFF, their STORE forms, SINTERCARD, SMOVE.
//! Sources are read from their masters (every master at once), the result is computed here, and
//! a destination is replaced in one MULTI/EXEC on its own master.

use std::collections::HashSet;

use redis::Value;

use super::{Key, WRONGTYPE, error_reply, replace_key};
use crate::cluster::Cluster;
use crate::error::ClusterError;

type Members = Vec<Vec<u8>>;

/// What the source keys hold: each key's members (`None`: no such key), or the error reply a
/// server gave (WRONGTYPE), which is the command's reply. Like Redis, every key's type is
/// checked before anything is computed.
enum Sources {
    Sets(Vec<Option<Members>>),
    Error(Value),
}

fn members(cluster: &Cluster, keys: &[Key<'_>]) -> Result<Sources, ClusterError> {
    let commands: Vec<(usize, Vec<&[u8]>)> = keys
        .iter()
        .map(|k| (k.shard, vec![&b"SMEMBERS"[..], k.stored]))
        .collect();
    let mut out = Vec::with_capacity(keys.len());
    for reply in cluster.run_on_masters(&commands)? {
        match reply {
            Value::Array(items) | Value::Set(items) if items.is_empty() => out.push(None),
            Value::Array(items) | Value::Set(items) => {
                out.push(Some(items.into_iter().map(bytes).collect()))
            }
            error @ Value::ServerError(_) => return Ok(Sources::Error(error)),
            other => {
                return Err(ClusterError::Command(format!(
                    "ERR SMEMBERS answered {other:?}"
                )));
            }
        }
    }
    Ok(Sources::Sets(out))
}

fn bytes(value: Value) -> Vec<u8> {
    match value {
        Value::BulkString(b) => b,
        Value::SimpleString(s) => s.into_bytes(),
        other => format!("{other:?}").into_bytes(),
    }
}

/// SUNION, SINTER or SDIFF of the sources, in a deterministic order (first seen first).
fn compute(op: &str, sets: Vec<Option<Members>>) -> Members {
    let mut sets = sets.into_iter();
    let first = sets.next().flatten().unwrap_or_default();
    match op {
        "SUNION" => {
            let mut seen = HashSet::new();
            let mut out = Vec::new();
            for member in first.into_iter().chain(sets.flatten().flatten()) {
                if seen.insert(member.clone()) {
                    out.push(member);
                }
            }
            out
        }
        "SINTER" => {
            let mut rest: Vec<HashSet<Vec<u8>>> = Vec::new();
            for set in sets {
                match set {
                    // Intersection with a missing (empty) set is empty.
                    None => return Vec::new(),
                    Some(members) => rest.push(members.into_iter().collect()),
                }
            }
            first
                .into_iter()
                .filter(|m| rest.iter().all(|s| s.contains(m)))
                .collect()
        }
        _ => {
            let others: HashSet<Vec<u8>> = sets.flatten().flatten().collect();
            first.into_iter().filter(|m| !others.contains(m)).collect()
        }
    }
}

/// SUNION / SINTER / SDIFF over keys on several masters.
pub(crate) fn algebra(
    cluster: &Cluster,
    op: &str,
    keys: &[Key<'_>],
) -> Result<Value, ClusterError> {
    let sets = match members(cluster, keys)? {
        Sources::Sets(sets) => sets,
        Sources::Error(error) => return Ok(error),
    };
    Ok(Value::Array(
        compute(op, sets)
            .into_iter()
            .map(Value::BulkString)
            .collect(),
    ))
}

/// SUNIONSTORE / SINTERSTORE / SDIFFSTORE: the destination is replaced whatever its type; an
/// empty result deletes it. Answers the result's size.
pub(crate) fn algebra_store(
    cluster: &Cluster,
    op: &str,
    destination: Key<'_>,
    sources: &[Key<'_>],
) -> Result<Value, ClusterError> {
    let sets = match members(cluster, sources)? {
        Sources::Sets(sets) => sets,
        Sources::Error(error) => return Ok(error),
    };
    let result = compute(op, sets);
    let mut sadd: Vec<&[u8]> = vec![b"SADD", destination.stored];
    sadd.extend(result.iter().map(Vec::as_slice));
    let fill = (!result.is_empty()).then_some(sadd);
    if let Some(error) = replace_key(cluster, destination, fill)? {
        return Ok(error);
    }
    Ok(Value::Int(result.len() as i64))
}

/// SINTERCARD numkeys key... [LIMIT limit] over keys on several masters.
pub(crate) fn intercard<A: AsRef<[u8]>>(
    cluster: &Cluster,
    args: &[A],
    keys: &[Key<'_>],
) -> Result<Value, ClusterError> {
    // Options are checked before anything is read, with Redis's messages.
    let mut limit: usize = 0;
    let mut i = 2 + keys.len();
    while i < args.len() {
        let more = i + 1 < args.len();
        if args[i].as_ref().eq_ignore_ascii_case(b"LIMIT") && more {
            let text = std::str::from_utf8(args[i + 1].as_ref()).unwrap_or("");
            let n: i64 = text.parse().map_err(|_| {
                ClusterError::Command("ERR value is not an integer or out of range".to_owned())
            })?;
            if n < 0 {
                return Err(ClusterError::Command(
                    "ERR LIMIT can't be negative".to_owned(),
                ));
            }
            limit = n as usize;
            i += 2;
        } else {
            return Err(ClusterError::Command("ERR syntax error".to_owned()));
        }
    }
    let sets = match members(cluster, keys)? {
        Sources::Sets(sets) => sets,
        Sources::Error(error) => return Ok(error),
    };
    let count = compute("SINTER", sets).len();
    Ok(Value::Int(
        if limit == 0 { count } else { count.min(limit) } as i64,
    ))
}

/// SMOVE source destination member, the keys on two masters: 1 when the member left the source
/// (even if the destination had it already), 0 when the source did not have it. Types are
/// checked first, as Redis does; the member is added to the destination before it is removed
/// from the source, so a failure in between leaves it in both, never in neither.
pub(crate) fn smove(
    cluster: &Cluster,
    source: Key<'_>,
    destination: Key<'_>,
    member: &[u8],
) -> Result<Value, ClusterError> {
    let types = cluster.run_on_masters(&[
        (source.shard, vec![&b"TYPE"[..], source.stored]),
        (destination.shard, vec![&b"TYPE"[..], destination.stored]),
        (source.shard, vec![&b"SISMEMBER"[..], source.stored, member]),
    ])?;
    let type_of = |v: &Value| match v {
        Value::SimpleString(s) => s.clone(),
        Value::Okay => "ok".to_owned(),
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    };
    let (source_type, destination_type) = (type_of(&types[0]), type_of(&types[1]));
    if source_type == "none" {
        return Ok(Value::Int(0));
    }
    if source_type != "set" || !(destination_type == "set" || destination_type == "none") {
        return Ok(error_reply(WRONGTYPE));
    }
    if types[2] != Value::Int(1) {
        return Ok(Value::Int(0));
    }
    let added = cluster.run_on_masters(&[(
        destination.shard,
        vec![&b"SADD"[..], destination.stored, member],
    )])?;
    let added_new = match added.into_iter().next() {
        Some(Value::Int(n)) => n == 1,
        Some(error @ Value::ServerError(_)) => return Ok(error), // changed type meanwhile: nothing moved
        other => {
            return Err(ClusterError::Command(format!(
                "ERR SADD answered {other:?}"
            )));
        }
    };
    let removed =
        cluster.run_on_masters(&[(source.shard, vec![&b"SREM"[..], source.stored, member])])?;
    match removed.first() {
        Some(Value::Int(1)) => Ok(Value::Int(1)),
        Some(Value::Int(_)) => {
            // Someone else took the member from the source meanwhile: as Redis would, move
            // nothing, so take back the copy this call added (if it was new there).
            if added_new {
                cluster.run_on_masters(&[(
                    destination.shard,
                    vec![&b"SREM"[..], destination.stored, member],
                )])?;
            }
            Ok(Value::Int(0))
        }
        Some(error @ Value::ServerError(_)) => Ok(error.clone()),
        other => Err(ClusterError::Command(format!(
            "ERR SREM answered {other:?}"
        ))),
    }
}
