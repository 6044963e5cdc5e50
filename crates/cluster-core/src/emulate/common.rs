//! What the emulations share: reading keys where they are, replacing a destination in one
//! MULTI/EXEC, names for temporary keys, error replies as a server gives them.

use redis::Value;

use crate::error::ClusterError;
use crate::executor::Executor;
use crate::executor::window::KeyRead;
use crate::placement::{PlacedKey, Placement};
use crate::wire::request::pack_command;

/// One key of an emulated command: its master, routing bytes and stored name.
pub type Key<'a> = PlacedKey<'a>;

/// Commands that each read one key (`(key, arguments)`), on masters, every master at once,
/// each key read where it is during a reshard's online window. The replies in order, error
/// replies as values.
pub fn read_keys(
    executor: &Executor,
    reads: &[(Key<'_>, Vec<&[u8]>)],
) -> Result<Vec<Value>, ClusterError> {
    let reads: Vec<KeyRead<'_>> = reads
        .iter()
        .map(|(key, args)| {
            let mut packed = Vec::new();
            pack_command(args, &[], &mut packed);
            KeyRead { key: *key, packed }
        })
        .collect();
    executor.read_keys(&reads)
}

/// One read of one key (see `read_keys`).
pub fn read_key(
    executor: &Executor,
    key: Key<'_>,
    args: Vec<&[u8]>,
) -> Result<Value, ClusterError> {
    Ok(read_keys(executor, &[(key, args)])?.remove(0))
}

/// Replaces `destination` with what `fill` writes (`None`: the key is deleted), atomically on
/// its master: MULTI, DEL, the fill, EXEC. `Some(error reply)` when EXEC refused.
pub fn replace_key(
    executor: &Executor,
    destination: Key<'_>,
    fill: Option<Vec<&[u8]>>,
) -> Result<Option<Value>, ClusterError> {
    let shard = destination.shard;
    let mut batch: Vec<(usize, Vec<&[u8]>)> = vec![
        (shard, vec![b"MULTI"]),
        (shard, vec![b"DEL", destination.stored]),
    ];
    batch.extend(fill.map(|command| (shard, command)));
    batch.push((shard, vec![b"EXEC"]));
    match executor.run_on_masters(&batch)?.pop() {
        Some(Value::Array(_)) => Ok(None),
        Some(error @ Value::ServerError(_)) => Ok(Some(error)),
        other => Err(ClusterError::Command(format!(
            "ERR EXEC answered {other:?}"
        ))),
    }
}

/// A key name for a value that lives only inside one MULTI/EXEC of ours on the master of
/// `unit` (created and deleted there, so nobody ever sees it): random, and marked as ours, so
/// it cannot meet a user's key; on a Redis Cluster tagged into `unit`'s slot, beside the keys
/// the command names.
pub fn temporary_name(placement: &Placement, unit: usize) -> Vec<u8> {
    use std::hash::{BuildHasher, Hasher};
    let random = || {
        std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish()
    };
    let tag = placement.tag_for_unit(unit).unwrap_or_default();
    format!("rediscluster:tmp:{:016x}{:016x}{tag}", random(), random()).into_bytes()
}

/// An error reply exactly as a server would give it (`WRONGTYPE ...`), as a value.
pub fn error_reply(line: &str) -> Value {
    // A well-formed error line always parses (the unit test below holds it to that).
    redis::parse_redis_value(format!("-{line}\r\n").as_bytes()).unwrap_or(Value::Nil)
}

pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// The text of a reply that should be text (TYPE's answer, a member): bulk or simple string.
/// `None` for anything else, which callers treat as the wrong kind of value rather than
/// inventing bytes for it.
pub fn text_of(value: &Value) -> Option<&[u8]> {
    match value {
        Value::BulkString(bytes) => Some(bytes),
        Value::SimpleString(text) => Some(text.as_bytes()),
        Value::Okay => Some(b"OK"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_replies_are_server_errors() {
        let Value::ServerError(e) = error_reply(WRONGTYPE) else {
            panic!("not an error reply")
        };
        assert_eq!(e.code(), "WRONGTYPE");
    }

    #[test]
    fn temporary_names_do_not_repeat() {
        let placement = Placement::default();
        assert_ne!(temporary_name(&placement, 0), temporary_name(&placement, 0));
        assert!(temporary_name(&placement, 0).starts_with(b"rediscluster:tmp:"));
        let cluster = crate::config::ClusterConfig::from_value(
            &serde_json::json!({"redis_cluster": {"nodes": ["h:1"]}}),
        )
        .unwrap()
        .placement;
        for slot in [0, 1, 5061, 16383] {
            let name = temporary_name(&cluster, slot);
            assert_eq!(cluster.master_index(&name, 16384), slot);
        }
    }
}
