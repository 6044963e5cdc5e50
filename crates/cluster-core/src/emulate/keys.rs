//! Whole keys between masters: RENAME, RENAMENX and COPY as DUMP + PEXPIRETIME on the source's
//! master and RESTORE ... ABSTTL on the destination's, so every type moves and the expiry is
//! the same millisecond. The source is deleted only after the RESTORE succeeded.

use redis::Value;

use super::{Key, error_reply};
use crate::cluster::Cluster;
use crate::error::ClusterError;

/// A key as DUMP serialized it, with its absolute expiry in unix milliseconds (if any).
struct Dumped {
    payload: Vec<u8>,
    expires_at: Option<i64>,
}

/// The source key serialized, or `None` if it is gone.
fn dump(cluster: &Cluster, source: Key<'_>) -> Result<Option<Dumped>, ClusterError> {
    let replies = cluster.run_on_masters(&[
        (source.shard, vec![&b"DUMP"[..], source.stored]),
        (source.shard, vec![&b"PEXPIRETIME"[..], source.stored]),
    ])?;
    match (&replies[0], &replies[1]) {
        (Value::BulkString(payload), Value::Int(at)) if *at >= -1 => Ok(Some(Dumped {
            payload: payload.clone(),
            expires_at: (*at > 0).then_some(*at),
        })),
        // Missing, or expired between the two commands.
        _ => Ok(None),
    }
}

/// RESTORE on the destination's master: `Ok(true)` restored, `Ok(false)` the destination
/// exists and `replace` was not asked.
fn restore(
    cluster: &Cluster,
    destination: Key<'_>,
    Dumped {
        payload,
        expires_at,
    }: Dumped,
    replace: bool,
) -> Result<bool, ClusterError> {
    let ttl = expires_at.unwrap_or(0).to_string();
    let mut command: Vec<&[u8]> = vec![b"RESTORE", destination.stored, ttl.as_bytes(), &payload];
    if expires_at.is_some() {
        command.push(b"ABSTTL");
    }
    if replace {
        command.push(b"REPLACE");
    }
    match cluster
        .run_on_masters(&[(destination.shard, command)])?
        .remove(0)
    {
        Value::Okay | Value::SimpleString(_) => Ok(true),
        Value::ServerError(e) if e.code() == "BUSYKEY" => Ok(false),
        Value::ServerError(error) => Err(ClusterError::Server {
            node: crate::placement::node_name(destination.shard),
            error,
        }),
        other => Err(ClusterError::Command(format!(
            "ERR RESTORE answered {other:?}"
        ))),
    }
}

fn delete(cluster: &Cluster, key: Key<'_>) -> Result<(), ClusterError> {
    cluster.run_on_masters(&[(key.shard, vec![&b"DEL"[..], key.stored])])?;
    Ok(())
}

/// RENAME (`only_if_new`: RENAMENX) across masters.
pub(crate) fn rename(
    cluster: &Cluster,
    source: Key<'_>,
    destination: Key<'_>,
    only_if_new: bool,
) -> Result<Value, ClusterError> {
    let Some(dumped) = dump(cluster, source)? else {
        return Ok(error_reply("ERR no such key"));
    };
    if !restore(cluster, destination, dumped, !only_if_new)? {
        return Ok(Value::Int(0));
    }
    delete(cluster, source)?;
    Ok(if only_if_new {
        Value::Int(1)
    } else {
        Value::Okay
    })
}

/// COPY source destination [REPLACE] across masters (DB is refused: a pooled connection stays
/// in the configured db).
pub(crate) fn copy<A: AsRef<[u8]>>(
    cluster: &Cluster,
    args: &[A],
    source: Key<'_>,
    destination: Key<'_>,
) -> Result<Value, ClusterError> {
    let mut replace = false;
    for option in &args[3..] {
        match option.as_ref() {
            o if o.eq_ignore_ascii_case(b"REPLACE") => replace = true,
            o if o.eq_ignore_ascii_case(b"DB") => {
                return Err(ClusterError::Refused {
                    command: "copy".to_owned(),
                    reason: "COPY ... DB across nodes would need another database on the destination's connection; copy within the configured db",
                });
            }
            _ => return Err(ClusterError::Command("ERR syntax error".to_owned())),
        }
    }
    let Some(dumped) = dump(cluster, source)? else {
        return Ok(Value::Int(0));
    };
    Ok(Value::Int(
        restore(cluster, destination, dumped, replace)? as i64
    ))
}
