//! An element between lists on two masters: RPOPLPUSH, LMOVE and their blocking forms. The
//! destination's type is checked before the pop; if the push still fails, the element goes back
//! to the end it came from: nothing is ever lost.

use redis::Value;

use super::{Key, WRONGTYPE, error_reply};
use crate::cluster::Cluster;
use crate::error::ClusterError;

#[derive(Clone, Copy)]
pub(crate) enum End {
    Left,
    Right,
}

impl End {
    pub(crate) fn parse(arg: &[u8]) -> Result<End, ClusterError> {
        if arg.eq_ignore_ascii_case(b"LEFT") {
            Ok(End::Left)
        } else if arg.eq_ignore_ascii_case(b"RIGHT") {
            Ok(End::Right)
        } else {
            Err(ClusterError::Command("ERR syntax error".to_owned()))
        }
    }
    fn pop(self) -> &'static [u8] {
        match self {
            End::Left => b"LPOP",
            End::Right => b"RPOP",
        }
    }
    fn push(self) -> &'static [u8] {
        match self {
            End::Left => b"LPUSH",
            End::Right => b"RPUSH",
        }
    }
    fn blocking_pop(self) -> &'static [u8] {
        match self {
            End::Left => b"BLPOP",
            End::Right => b"BRPOP",
        }
    }
}

fn type_name(value: &Value) -> &str {
    match value {
        Value::SimpleString(s) => s,
        Value::BulkString(b) => std::str::from_utf8(b).unwrap_or(""),
        _ => "",
    }
}

/// LMOVE source destination from to (RPOPLPUSH is RIGHT LEFT).
pub(crate) fn lmove(
    cluster: &Cluster,
    source: Key<'_>,
    destination: Key<'_>,
    from: End,
    to: End,
) -> Result<Value, ClusterError> {
    let types = cluster.run_on_masters(&[
        (source.shard, vec![&b"TYPE"[..], source.stored]),
        (destination.shard, vec![&b"TYPE"[..], destination.stored]),
    ])?;
    // Redis's order: a missing source is nil whatever the destination; then both types.
    match type_name(&types[0]) {
        "none" => return Ok(Value::Nil),
        "list" => {}
        _ => return Ok(error_reply(WRONGTYPE)),
    }
    if !matches!(type_name(&types[1]), "none" | "list") {
        return Ok(error_reply(WRONGTYPE));
    }
    let popped = cluster
        .run_on_masters(&[(source.shard, vec![from.pop(), source.stored])])?
        .remove(0);
    match popped {
        Value::BulkString(element) => {
            push_or_put_back(cluster, source, destination, from, to, element)
        }
        other => Ok(other), // emptied meanwhile (nil), or an error reply
    }
}

/// BLMOVE source destination from to timeout (BRPOPLPUSH is RIGHT LEFT). A source with
/// elements moves one at once, as LMOVE; an empty source blocks on its master, and the element
/// that arrives is pushed (or, if the destination refuses it, put back).
pub(crate) fn blmove(
    cluster: &Cluster,
    source: Key<'_>,
    destination: Key<'_>,
    (from, to): (End, End),
    timeout: &[u8],
) -> Result<Value, ClusterError> {
    let kind = cluster.run_on_masters(&[(source.shard, vec![&b"TYPE"[..], source.stored])])?;
    match type_name(&kind[0]) {
        "list" => return lmove(cluster, source, destination, from, to),
        "none" => {}
        _ => return Ok(error_reply(WRONGTYPE)),
    }
    let popped = cluster
        .run_on_masters(&[(
            source.shard,
            vec![from.blocking_pop(), source.stored, timeout],
        )])?
        .remove(0);
    match popped {
        Value::Array(mut pair) if pair.len() == 2 => match pair.pop() {
            Some(Value::BulkString(element)) => {
                push_or_put_back(cluster, source, destination, from, to, element)
            }
            other => Err(ClusterError::Command(format!(
                "ERR unexpected pop reply {other:?}"
            ))),
        },
        other => Ok(other), // timed out (nil), or an error reply (bad timeout)
    }
}

/// Pushes the popped element to the destination; on any failure puts it back where it was.
fn push_or_put_back(
    cluster: &Cluster,
    source: Key<'_>,
    destination: Key<'_>,
    from: End,
    to: End,
    element: Vec<u8>,
) -> Result<Value, ClusterError> {
    let pushed = cluster
        .run_on_masters(&[(
            destination.shard,
            vec![to.push(), destination.stored, &element],
        )])
        .map(|mut r| r.remove(0));
    let failure = match pushed {
        Ok(Value::Int(_)) => return Ok(Value::BulkString(element)),
        Ok(error @ Value::ServerError(_)) => Ok(error),
        Ok(other) => Err(ClusterError::Command(format!(
            "ERR push answered {other:?}"
        ))),
        Err(e) => Err(e),
    };
    let back =
        cluster.run_on_masters(&[(source.shard, vec![from.push(), source.stored, &element])]);
    match back {
        Ok(replies) if matches!(replies[0], Value::Int(_)) => failure,
        _ => Err(ClusterError::Command(format!(
            "ERR the push to {} failed and the element could not be put back into {}: {:?}",
            crate::placement::node_name(destination.shard),
            String::from_utf8_lossy(source.stored),
            String::from_utf8_lossy(&element)
        ))),
    }
}
