//! An element between lists on two masters: RPOPLPUSH, LMOVE and their blocking forms. The
//! destination's type is checked before the pop; if the push still fails, the element goes back
//! to the end it came from: nothing is ever lost.

use redis::Value;

use super::common::{Key, WRONGTYPE, error_reply, read_key, read_keys, text_of};
use crate::commands::End;
use crate::error::ClusterError;
use crate::executor::Executor;
use crate::interrupt;

/// Where an element leaves its source and enters its destination.
#[derive(Clone, Copy)]
pub struct Ends {
    pub from: End,
    pub to: End,
}

/// LMOVE's `LEFT|RIGHT LEFT|RIGHT`, with Redis's error for anything else.
pub fn parse_ends(from: &[u8], to: &[u8]) -> Result<(End, End), ClusterError> {
    let end = |arg: &[u8]| {
        if arg.eq_ignore_ascii_case(b"LEFT") {
            Ok(End::Left)
        } else if arg.eq_ignore_ascii_case(b"RIGHT") {
            Ok(End::Right)
        } else {
            Err(ClusterError::Command("ERR syntax error".to_owned()))
        }
    };
    Ok((end(from)?, end(to)?))
}

fn pop(end: End) -> &'static [u8] {
    match end {
        End::Left => b"LPOP",
        End::Right => b"RPOP",
    }
}

fn push(end: End) -> &'static [u8] {
    match end {
        End::Left => b"LPUSH",
        End::Right => b"RPUSH",
    }
}

fn blocking_pop(end: End) -> &'static [u8] {
    match end {
        End::Left => b"BLPOP",
        End::Right => b"BRPOP",
    }
}

fn type_name(value: &Value) -> &[u8] {
    text_of(value).unwrap_or_default()
}

/// LMOVE source destination from to (RPOPLPUSH is RIGHT LEFT).
pub fn lmove(
    executor: &Executor,
    source: Key<'_>,
    destination: Key<'_>,
    ends: Ends,
) -> Result<Value, ClusterError> {
    let types = read_keys(
        executor,
        &[
            (source, vec![&b"TYPE"[..], source.stored]),
            (destination, vec![&b"TYPE"[..], destination.stored]),
        ],
    )?;
    // Redis's order: a missing source is nil whatever the destination; then both types.
    match type_name(&types[0]) {
        b"none" => return Ok(Value::Nil),
        b"list" => {}
        _ => return Ok(error_reply(WRONGTYPE)),
    }
    if !matches!(type_name(&types[1]), b"none" | b"list") {
        return Ok(error_reply(WRONGTYPE));
    }
    // The pop and what follows it run whole (see `interrupt::shielded`): a cancel between them
    // would drop the popped element.
    interrupt::shielded(|| {
        let popped = executor
            .run_on_masters(&[(source.shard, vec![pop(ends.from), source.stored])])?
            .remove(0);
        match popped {
            Value::BulkString(element) => {
                push_or_put_back(executor, source, destination, ends, element)
            }
            other => Ok(other), // emptied meanwhile (nil), or an error reply
        }
    })
}

/// BLMOVE source destination from to timeout (BRPOPLPUSH is RIGHT LEFT). A source with
/// elements moves one at once, as LMOVE; an empty source blocks on its master, and the element
/// that arrives is pushed (or, if the destination refuses it, put back).
pub fn blmove(
    executor: &Executor,
    source: Key<'_>,
    destination: Key<'_>,
    ends: Ends,
    timeout: &[u8],
) -> Result<Value, ClusterError> {
    let kind = read_key(executor, source, vec![&b"TYPE"[..], source.stored])?;
    match type_name(&kind) {
        b"list" => return lmove(executor, source, destination, ends),
        b"none" => {}
        _ => return Ok(error_reply(WRONGTYPE)),
    }
    let popped = executor
        .run_on_masters(&[(
            source.shard,
            vec![blocking_pop(ends.from), source.stored, timeout],
        )])?
        .remove(0);
    match popped {
        Value::Array(mut pair) if pair.len() == 2 => match pair.pop() {
            Some(Value::BulkString(element)) => interrupt::shielded(|| {
                push_or_put_back(executor, source, destination, ends, element)
            }),
            other => Err(ClusterError::Command(format!(
                "ERR unexpected pop reply {other:?}"
            ))),
        },
        other => Ok(other), // timed out (nil), or an error reply (bad timeout)
    }
}

/// Pushes the popped element to the destination; on any failure puts it back where it was.
fn push_or_put_back(
    executor: &Executor,
    source: Key<'_>,
    destination: Key<'_>,
    ends: Ends,
    element: Vec<u8>,
) -> Result<Value, ClusterError> {
    let pushed = executor
        .run_on_masters(&[(
            destination.shard,
            vec![push(ends.to), destination.stored, &element],
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
        executor.run_on_masters(&[(source.shard, vec![push(ends.from), source.stored, &element])]);
    match back {
        Ok(replies) if matches!(replies[0], Value::Int(_)) => failure,
        _ => Err(ClusterError::Command(format!(
            "ERR the push to {} failed and the element could not be put back into {}: {:?}",
            executor.unit_name(destination.shard),
            String::from_utf8_lossy(source.stored),
            String::from_utf8_lossy(&element)
        ))),
    }
}
