//! Whole keys between masters: RENAME, RENAMENX and COPY as DUMP + PEXPIRETIME on the source's
//! master and RESTORE ... ABSTTL on the destination's, so every type moves and the expiry is
//! the same millisecond. The source is deleted only after the RESTORE succeeded.

use redis::Value;

use super::common::{Key, error_reply, read_keys};
use crate::error::ClusterError;
use crate::executor::Executor;

/// A key as DUMP serialized it, with its absolute expiry in unix milliseconds (if any).
struct Dumped {
    payload: Vec<u8>,
    expires_at: Option<i64>,
}

/// The source key serialized, or `None` if it is gone.
fn dump(executor: &Executor, source: Key<'_>) -> Result<Option<Dumped>, ClusterError> {
    let replies = read_keys(
        executor,
        &[
            (source, vec![&b"DUMP"[..], source.stored]),
            (source, vec![&b"PEXPIRETIME"[..], source.stored]),
        ],
    )?;
    match (&replies[0], &replies[1]) {
        (Value::BulkString(payload), Value::Int(at)) if *at >= -1 => Ok(Some(Dumped {
            payload: payload.clone(),
            expires_at: (*at > 0).then_some(*at),
        })),
        // Missing, or expired between the two commands.
        _ => Ok(None),
    }
}

/// RESTORE on the destination's master (into database `db` when given, in a MULTI that
/// switches back): `Ok(true)` restored, `Ok(false)` the destination exists and `replace` was
/// not asked.
fn restore(
    executor: &Executor,
    destination: Key<'_>,
    Dumped {
        payload,
        expires_at,
    }: Dumped,
    replace: bool,
    db: Option<i64>,
) -> Result<bool, ClusterError> {
    let ttl = expires_at.unwrap_or(0).to_string();
    let mut command: Vec<&[u8]> = vec![b"RESTORE", destination.stored, ttl.as_bytes(), &payload];
    if expires_at.is_some() {
        command.push(b"ABSTTL");
    }
    if replace {
        command.push(b"REPLACE");
    }
    let reply = match db {
        None => executor
            .run_on_masters(&[(destination.shard, command)])?
            .remove(0),
        Some(db) => {
            let (target, back) = (
                db.to_string(),
                executor.current_db(destination.shard).to_string(),
            );
            let shard = destination.shard;
            let batch = [
                (shard, vec![&b"MULTI"[..]]),
                (shard, vec![b"SELECT", target.as_bytes()]),
                (shard, command),
                (shard, vec![b"SELECT", back.as_bytes()]),
                (shard, vec![b"EXEC"]),
            ];
            match executor.run_on_masters(&batch)?.pop() {
                Some(Value::Array(results)) if results.len() == 3 => {
                    match &results[0] {
                        error @ Value::ServerError(_) => error.clone(), // no such db
                        _ => results[1].clone(),
                    }
                }
                Some(other) => other,
                None => Value::Nil,
            }
        }
    };
    match reply {
        Value::Okay | Value::SimpleString(_) => Ok(true),
        Value::ServerError(e) if e.code() == "BUSYKEY" => Ok(false),
        Value::ServerError(error) => Err(ClusterError::Server {
            node: executor.unit_name(destination.shard),
            error,
        }),
        other => Err(ClusterError::Command(format!(
            "ERR RESTORE answered {other:?}"
        ))),
    }
}

fn delete(executor: &Executor, key: Key<'_>) -> Result<(), ClusterError> {
    executor.run_on_masters(&[(key.shard, vec![&b"DEL"[..], key.stored])])?;
    Ok(())
}

/// RENAME (`only_if_new`: RENAMENX) across masters.
pub fn rename(
    executor: &Executor,
    source: Key<'_>,
    destination: Key<'_>,
    only_if_new: bool,
) -> Result<Value, ClusterError> {
    let Some(dumped) = dump(executor, source)? else {
        return Ok(error_reply("ERR no such key"));
    };
    if !restore(executor, destination, dumped, !only_if_new, None)? {
        return Ok(Value::Int(0));
    }
    delete(executor, source)?;
    Ok(if only_if_new {
        Value::Int(1)
    } else {
        Value::Okay
    })
}

/// COPY source destination [DB db] [REPLACE] across masters.
pub fn copy<A: AsRef<[u8]>>(
    executor: &Executor,
    args: &[A],
    source: Key<'_>,
    destination: Key<'_>,
) -> Result<Value, ClusterError> {
    let mut replace = false;
    let mut db = None;
    let mut options = args[3..].iter().map(AsRef::as_ref);
    while let Some(option) = options.next() {
        if option.eq_ignore_ascii_case(b"REPLACE") {
            replace = true;
        } else if option.eq_ignore_ascii_case(b"DB") {
            let number = options
                .next()
                .ok_or_else(|| ClusterError::Command("ERR syntax error".to_owned()))?;
            db = Some(
                std::str::from_utf8(number)
                    .ok()
                    .and_then(|t| t.parse::<i64>().ok())
                    .ok_or_else(|| {
                        ClusterError::Command(
                            "ERR value is not an integer or out of range".to_owned(),
                        )
                    })?,
            );
        } else {
            return Err(ClusterError::Command("ERR syntax error".to_owned()));
        }
    }
    let Some(dumped) = dump(executor, source)? else {
        return Ok(Value::Int(0));
    };
    Ok(Value::Int(
        restore(executor, destination, dumped, replace, db)? as i64,
    ))
}
