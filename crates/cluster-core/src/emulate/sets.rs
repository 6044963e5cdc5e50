//! Set algebra across masters: SUNION / SINTER / SDIFF, their STORE forms, SINTERCARD, SMOVE.
//! Sources are read from their masters (every master at once), the result is computed here, and
//! a destination is replaced in one MULTI/EXEC on its own master.

use std::collections::HashSet;

use redis::Value;

use super::common::{Key, WRONGTYPE, error_reply, read_keys, replace_key, text_of};
use crate::commands::SetOp;
use crate::error::ClusterError;
use crate::executor::Executor;

type Members = Vec<Vec<u8>>;

/// What the source keys hold: each key's members (`None`: no such key), or the error reply a
/// server gave (WRONGTYPE), which is the command's reply. Like Redis, every key's type is
/// checked before anything is computed.
enum Sources {
    Sets(Vec<Option<Members>>),
    Error(Value),
}

fn members(executor: &Executor, keys: &[Key<'_>]) -> Result<Sources, ClusterError> {
    let commands: Vec<(Key<'_>, Vec<&[u8]>)> = keys
        .iter()
        .map(|k| (*k, vec![&b"SMEMBERS"[..], k.stored]))
        .collect();
    let mut out = Vec::with_capacity(keys.len());
    for reply in read_keys(executor, &commands)? {
        match reply {
            Value::Array(items) | Value::Set(items) if items.is_empty() => out.push(None),
            Value::Array(items) | Value::Set(items) => out.push(Some(member_bytes(items)?)),
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

/// A set's members as bytes. A member is always a string; anything else in the reply is an
/// error, never bytes made up from it.
fn member_bytes(items: Vec<Value>) -> Result<Members, ClusterError> {
    items
        .iter()
        .map(|item| {
            text_of(item).map(<[u8]>::to_vec).ok_or_else(|| {
                ClusterError::Command(format!("ERR SMEMBERS answered a member {item:?}"))
            })
        })
        .collect()
}

/// SUNION, SINTER or SDIFF of the sources, in a deterministic order (first seen first).
fn compute(op: SetOp, sets: Vec<Option<Members>>) -> Members {
    let mut sets = sets.into_iter();
    let first = sets.next().flatten().unwrap_or_default();
    match op {
        SetOp::Union => {
            let mut seen = HashSet::new();
            let mut out = Vec::new();
            for member in first.into_iter().chain(sets.flatten().flatten()) {
                if seen.insert(member.clone()) {
                    out.push(member);
                }
            }
            out
        }
        SetOp::Inter => {
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
        SetOp::Diff => {
            let others: HashSet<Vec<u8>> = sets.flatten().flatten().collect();
            first.into_iter().filter(|m| !others.contains(m)).collect()
        }
    }
}

/// SUNION / SINTER / SDIFF over keys on several masters.
pub fn algebra(executor: &Executor, op: SetOp, keys: &[Key<'_>]) -> Result<Value, ClusterError> {
    let sets = match members(executor, keys)? {
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
pub fn algebra_store(
    executor: &Executor,
    op: SetOp,
    destination: Key<'_>,
    sources: &[Key<'_>],
) -> Result<Value, ClusterError> {
    let sets = match members(executor, sources)? {
        Sources::Sets(sets) => sets,
        Sources::Error(error) => return Ok(error),
    };
    let result = compute(op, sets);
    let mut sadd: Vec<&[u8]> = vec![b"SADD", destination.stored];
    sadd.extend(result.iter().map(Vec::as_slice));
    let fill = (!result.is_empty()).then_some(sadd);
    if let Some(error) = replace_key(executor, destination, fill)? {
        return Ok(error);
    }
    Ok(Value::Int(result.len() as i64))
}

/// SINTERCARD numkeys key... [LIMIT limit] over keys on several masters.
pub fn intercard<A: AsRef<[u8]>>(
    executor: &Executor,
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
    let sets = match members(executor, keys)? {
        Sources::Sets(sets) => sets,
        Sources::Error(error) => return Ok(error),
    };
    let count = compute(SetOp::Inter, sets).len();
    Ok(Value::Int(
        if limit == 0 { count } else { count.min(limit) } as i64,
    ))
}

/// SMOVE source destination member, the keys on two masters: 1 when the member left the source
/// (even if the destination had it already), 0 when the source did not have it. Types are
/// checked first, as Redis does; the member is added to the destination before it is removed
/// from the source, so a failure in between leaves it in both, never in neither.
pub fn smove(
    executor: &Executor,
    source: Key<'_>,
    destination: Key<'_>,
    member: &[u8],
) -> Result<Value, ClusterError> {
    let types = read_keys(
        executor,
        &[
            (source, vec![&b"TYPE"[..], source.stored]),
            (destination, vec![&b"TYPE"[..], destination.stored]),
            (source, vec![&b"SISMEMBER"[..], source.stored, member]),
        ],
    )?;
    let (source_type, destination_type) = (text_of(&types[0]), text_of(&types[1]));
    if source_type == Some(b"none") {
        return Ok(Value::Int(0));
    }
    if source_type != Some(b"set") || !matches!(destination_type, Some(b"set" | b"none")) {
        return Ok(error_reply(WRONGTYPE));
    }
    if types[2] != Value::Int(1) {
        return Ok(Value::Int(0));
    }
    let added = executor.run_on_masters(&[(
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
        executor.run_on_masters(&[(source.shard, vec![&b"SREM"[..], source.stored, member])])?;
    match removed.first() {
        Some(Value::Int(1)) => Ok(Value::Int(1)),
        Some(Value::Int(_)) => {
            // Someone else took the member from the source meanwhile: as Redis would, move
            // nothing, so take back the copy this call added (if it was new there).
            if added_new {
                executor.run_on_masters(&[(
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A member is bytes as the server sent them; a reply of another kind is an error (it was
    /// stored as its debug text, `Int(5)`, found in review).
    #[test]
    fn members_are_never_made_up() {
        let members = vec![
            Value::BulkString(b"a".to_vec()),
            Value::SimpleString("b".into()),
        ];
        assert_eq!(
            member_bytes(members).unwrap(),
            [b"a".to_vec(), b"b".to_vec()]
        );
        assert!(member_bytes(vec![Value::Int(5)]).is_err());
    }

    #[test]
    fn algebra_keeps_first_seen_order() {
        let set = |items: &[&str]| Some(items.iter().map(|i| i.as_bytes().to_vec()).collect());
        let sets = || vec![set(&["a", "b", "c"]), set(&["c", "d"]), None];
        let text = |members: Members| {
            members
                .into_iter()
                .map(|m| String::from_utf8(m).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(text(compute(SetOp::Union, sets())), ["a", "b", "c", "d"]);
        assert_eq!(text(compute(SetOp::Diff, sets())), ["a", "b"]);
        assert!(
            compute(SetOp::Inter, sets()).is_empty(),
            "a missing key is an empty set"
        );
        assert_eq!(text(compute(SetOp::Inter, sets()[..2].to_vec())), ["c"]);
    }
}
