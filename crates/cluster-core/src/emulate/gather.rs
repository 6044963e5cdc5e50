//! Commands that read keys and write one destination, run on the destination's master with
//! copies of the keys that live elsewhere: BITOP, ZRANGESTORE, GEOSEARCHSTORE, GEORADIUS and
//! GEORADIUSBYMEMBER with STORE/STOREDIST; and LCS, which writes nothing, on its first key's. Each remote key is read with DUMP on its master, and
//! on the destination's master one MULTI/EXEC restores it under a temporary name, runs the
//! command with that name in its place, and deletes the copy: the command itself is Redis's,
//! with Redis's replies and errors, and the copies are never visible to anyone else.

use redis::Value;

use super::common::{Key, read_keys, temporary_name};
use crate::error::ClusterError;
use crate::executor::Executor;

/// Runs the command on the master of `keys[home]`, the key it writes.
pub fn on_destination<A: AsRef<[u8]>>(
    executor: &Executor,
    args: &[A],
    positions: &[usize],
    keys: &[Key<'_>],
    home: usize,
) -> Result<Value, ClusterError> {
    let shard = keys[home].shard;
    // Remote keys, each read once even when named twice.
    let mut remote: Vec<Key<'_>> = Vec::new();
    for key in keys.iter().filter(|k| k.shard != shard) {
        if !remote
            .iter()
            .any(|r| r.stored == key.stored && r.shard == key.shard)
        {
            remote.push(*key);
        }
    }
    let dumps = read_keys(
        executor,
        &remote
            .iter()
            .map(|k| (*k, vec![&b"DUMP"[..], k.stored]))
            .collect::<Vec<_>>(),
    )?;
    let names: Vec<Vec<u8>> = remote
        .iter()
        .map(|_| temporary_name(executor.placement(), shard))
        .collect();

    let mut command: Vec<&[u8]> = args.iter().map(AsRef::as_ref).collect();
    for (key, &at) in keys.iter().zip(positions) {
        command[at] = match remote
            .iter()
            .position(|r| r.stored == key.stored && r.shard == key.shard)
        {
            Some(copy) => names[copy].as_slice(),
            None => key.stored,
        };
    }
    let mut batch: Vec<(usize, Vec<&[u8]>)> = vec![(shard, vec![b"MULTI"])];
    for (dump, name) in dumps.iter().zip(&names) {
        match dump {
            Value::BulkString(payload) => batch.push((
                shard,
                vec![b"RESTORE", name.as_slice(), b"0", payload, b"REPLACE"],
            )),
            Value::Nil => {} // a missing key stays missing under its temporary name
            error @ Value::ServerError(_) => return Ok(error.clone()),
            other => {
                return Err(ClusterError::Command(format!(
                    "ERR DUMP answered {other:?}"
                )));
            }
        }
    }
    let restored = batch.len() - 1;
    batch.push((shard, command));
    if !names.is_empty() {
        let mut delete: Vec<&[u8]> = vec![b"DEL"];
        delete.extend(names.iter().map(Vec::as_slice));
        batch.push((shard, delete));
    }
    batch.push((shard, vec![b"EXEC"]));
    let mut replies = executor.run_on_masters(&batch)?;
    // The command's reply to being queued: its own error if Redis refused it (syntax).
    let queued = replies[restored + 1].clone();
    match replies.pop() {
        Some(Value::Array(mut results)) if results.len() > restored => {
            // A copy that failed to restore is the error to report.
            if let Some(error) = results[..restored]
                .iter()
                .find(|r| matches!(r, Value::ServerError(_)))
            {
                return Ok(error.clone());
            }
            Ok(results.swap_remove(restored))
        }
        Some(error @ Value::ServerError(_)) => Ok(match queued {
            refused @ Value::ServerError(_) => refused,
            _ => error,
        }),
        other => Err(ClusterError::Command(format!(
            "ERR EXEC answered {other:?}"
        ))),
    }
}
