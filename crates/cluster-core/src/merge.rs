//! How the replies of several masters become one answer: pure functions over the replies
//! (`(master name, reply)` pairs), one per way the command table names (`SplitMerge` for
//! commands split by key, `FanOutMerge` for server-wide ones), tested without servers. A
//! master that could not be reached fails the whole answer, naming it: a partial answer would
//! look like a complete one.

use redis::Value;

use crate::commands::{FanOutMerge, SplitMerge};
use crate::error::ClusterError;
use crate::router::SplitGroup;

/// Each master's reply, by name.
pub type Replies<'a> = Vec<(&'a str, Result<Value, ClusterError>)>;

/// A server's error reply as `ClusterError::Server`, naming the node that gave it.
pub fn error_reply_as_err(node: &str, value: Value) -> Result<Value, ClusterError> {
    match value {
        Value::ServerError(error) => Err(ClusterError::Server {
            node: node.to_owned(),
            error,
        }),
        value => Ok(value),
    }
}

/// A split write that failed on some masters after others applied their part is reported as
/// `ClusterError::Partial`, naming both sides, so nobody assumes nothing happened.
pub fn all_applied(command: &[u8], replies: &Replies<'_>) -> Result<(), ClusterError> {
    let mut failed = Vec::new();
    let mut applied = Vec::new();
    for (node, reply) in replies {
        match reply {
            Ok(Value::ServerError(error)) => failed.push(ClusterError::Server {
                node: (*node).to_owned(),
                error: error.clone(),
            }),
            Ok(_) => applied.push((*node).to_owned()),
            Err(e) => failed.push(e.clone()),
        }
    }
    if failed.is_empty() {
        return Ok(());
    }
    Err(ClusterError::Partial {
        command: String::from_utf8_lossy(command).to_ascii_lowercase(),
        failed,
        applied,
    })
}

/// The answer to a command split by key, from one reply per group (`groups[i]` got
/// `replies[i]`); `unit` arguments per key.
pub fn split(
    merge: SplitMerge,
    replies: Replies<'_>,
    groups: &[SplitGroup],
    unit: usize,
) -> Result<Value, ClusterError> {
    match merge {
        SplitMerge::KeyOrder => in_key_order(replies, groups, unit),
        SplitMerge::Sum => sum(successes(replies)?),
        SplitMerge::AllOk => all_ok(successes(replies)?),
    }
}

/// The answer to a server-wide command (`command`), from every master's reply. A script run on
/// every master (`FanOutMerge::Combined`) that some masters failed (an error reply, a lost
/// connection) after others ran it is a partial failure naming both; when every master failed,
/// the first failure (NOSCRIPT everywhere is NOSCRIPT).
pub fn fan_out(
    command: &[u8],
    merge: FanOutMerge,
    replies: Replies<'_>,
) -> Result<Value, ClusterError> {
    let ran = |reply: &Result<Value, ClusterError>| matches!(reply, Ok(v) if !matches!(v, Value::ServerError(_)));
    if merge == FanOutMerge::Combined && replies.iter().any(|(_, reply)| ran(reply)) {
        all_applied(command, &replies)?;
    }
    let values = values(replies)?;
    match merge {
        FanOutMerge::PerNode => Ok(per_node(values)),
        // CLIENT KILL: only one master knows the client, the others answer an error.
        FanOutMerge::AnyOk => any_ok(values),
        FanOutMerge::Sum => sum(successes_of(values)?),
        FanOutMerge::Concat => concat(successes_of(values)?),
        FanOutMerge::AllOk => all_ok(successes_of(values)?),
        FanOutMerge::Same => same(successes_of(values)?),
        FanOutMerge::Random => Ok(random(successes_of(values)?)),
        FanOutMerge::Lines => lines(successes_of(values)?),
        FanOutMerge::Min => min(successes_of(values)?),
        FanOutMerge::Combined => combined(successes_of(values)?),
    }
}

/// The values, when every master answered; else the first failure.
fn values(replies: Replies<'_>) -> Result<Vec<(&str, Value)>, ClusterError> {
    replies
        .into_iter()
        .map(|(node, reply)| reply.map(|value| (node, value)))
        .collect()
}

/// The values, when every master answered without an error reply; else the first failure
/// (only a per-node map can show which node said what, so anything merged fails instead of
/// hiding an error).
fn successes(replies: Replies<'_>) -> Result<Vec<(&str, Value)>, ClusterError> {
    successes_of(values(replies)?)
}

fn successes_of(values: Vec<(&str, Value)>) -> Result<Vec<(&str, Value)>, ClusterError> {
    values
        .into_iter()
        .map(|(node, value)| error_reply_as_err(node, value).map(|value| (node, value)))
        .collect()
}

/// Where the key at argument `at` answers in a split read's reply (MGET: the caller's key
/// order), `first` being the first key's argument index and `unit` the arguments per key.
pub fn answer_index(at: usize, first: usize, unit: usize) -> usize {
    (at - first) / unit
}

/// The first key's argument index of a split command.
pub fn first_key_at(groups: &[SplitGroup]) -> usize {
    groups
        .iter()
        .flat_map(|g| g.positions.first())
        .min()
        .copied()
        .unwrap_or(1)
}

/// The outcome of a split read whose elements were visited (`Executor::split_items`): fine
/// when every master's elements were; else the first master's error reply, or failure, or the
/// reply it gave instead of one value per key.
pub fn items_visited(
    replies: Vec<(&str, Result<Option<Value>, ClusterError>)>,
) -> Result<(), ClusterError> {
    for (node, reply) in replies {
        if let Some(value) = reply? {
            let value = error_reply_as_err(node, value)?;
            return Err(unexpected(node, "one value per key", &value));
        }
    }
    Ok(())
}

/// MGET's answer: every master's values put back at their keys' places in the caller's list.
fn in_key_order(
    replies: Replies<'_>,
    groups: &[SplitGroup],
    unit: usize,
) -> Result<Value, ClusterError> {
    let first = first_key_at(groups);
    let count: usize = groups.iter().map(|g| g.positions.len()).sum();
    // Not `vec![Value::Nil; count]`: that clones through `Value::clone`, a call per key
    // (a twentieth of an MGET of 1000 keys from PHP, perf).
    let mut values: Vec<Value> = std::iter::repeat_with(|| Value::Nil).take(count).collect();
    for ((node, reply), group) in replies.into_iter().zip(groups) {
        let items = match error_reply_as_err(node, reply?)? {
            Value::Array(items) if items.len() == group.positions.len() => items,
            other => return Err(unexpected(node, "one value per key", &other)),
        };
        for (at, value) in group.positions.iter().zip(items) {
            values[answer_index(*at, first, unit)] = value;
        }
    }
    Ok(Value::Array(values))
}

fn per_node(values: Vec<(&str, Value)>) -> Value {
    Value::Map(
        values
            .into_iter()
            .map(|(node, value)| (Value::BulkString(node.as_bytes().to_vec()), value))
            .collect(),
    )
}

fn sum(values: Vec<(&str, Value)>) -> Result<Value, ClusterError> {
    let mut total: i64 = 0;
    for (node, value) in values {
        match value {
            Value::Int(n) => total += n,
            other => return Err(unexpected(node, "an integer", &other)),
        }
    }
    Ok(Value::Int(total))
}

fn all_ok(values: Vec<(&str, Value)>) -> Result<Value, ClusterError> {
    for (node, value) in &values {
        if !is_ok(value) {
            return Err(unexpected(node, "OK", value));
        }
    }
    Ok(Value::Okay)
}

fn concat(values: Vec<(&str, Value)>) -> Result<Value, ClusterError> {
    let mut all = Vec::new();
    for (node, value) in values {
        match value {
            Value::Array(items) | Value::Set(items) => all.extend(items),
            other => return Err(unexpected(node, "an array", &other)),
        }
    }
    Ok(Value::Array(all))
}

fn lines(values: Vec<(&str, Value)>) -> Result<Value, ClusterError> {
    let mut all = Vec::new();
    for (node, value) in values {
        match value {
            Value::BulkString(text) => all.extend(text),
            Value::VerbatimString { text, .. } => all.extend(text.into_bytes()),
            other => return Err(unexpected(node, "text", &other)),
        }
    }
    Ok(Value::BulkString(all))
}

fn min(values: Vec<(&str, Value)>) -> Result<Value, ClusterError> {
    let mut least: Option<i64> = None;
    for (node, value) in values {
        match value {
            Value::Int(n) => least = Some(least.map_or(n, |m| m.min(n))),
            other => return Err(unexpected(node, "an integer", &other)),
        }
    }
    Ok(least.map_or(Value::Nil, Value::Int))
}

fn same(values: Vec<(&str, Value)>) -> Result<Value, ClusterError> {
    let Some((first_node, first)) = values.first() else {
        return Ok(Value::Nil);
    };
    match values.iter().find(|(_, v)| v != first) {
        None => Ok(first.clone()),
        Some((node, other)) => Err(ClusterError::Command(format!(
            "ERR the masters disagree: {first_node} answered {first:?}, {node} answered {other:?}"
        ))),
    }
}

/// Integers added up, arrays concatenated, else the reply every master agrees on. A nil (a
/// script that returned nothing where it found nothing to do) counts for nothing.
fn combined(values: Vec<(&str, Value)>) -> Result<Value, ClusterError> {
    let values: Vec<_> = values
        .into_iter()
        .filter(|(_, v)| *v != Value::Nil)
        .collect();
    if values.is_empty() {
        return Ok(Value::Nil);
    }
    if values.iter().all(|(_, v)| matches!(v, Value::Int(_))) {
        return sum(values);
    }
    if values.iter().all(|(_, v)| matches!(v, Value::Array(_))) {
        return concat(values);
    }
    same(values).map_err(|e| {
        ClusterError::Command(format!(
            "{e} (the script ran on every master: keyless_scripts is every_master)"
        ))
    })
}

/// One of the non-nil replies, picked at random.
fn random(values: Vec<(&str, Value)>) -> Value {
    let mut found: Vec<Value> = values
        .into_iter()
        .map(|(_, v)| v)
        .filter(|v| *v != Value::Nil)
        .collect();
    match found.len() {
        0 => Value::Nil,
        n => found.swap_remove(random_below(n)),
    }
}

/// Integers added up; else OK if any node said OK; else the first node's error.
fn any_ok(values: Vec<(&str, Value)>) -> Result<Value, ClusterError> {
    if values.iter().all(|(_, v)| matches!(v, Value::Int(_))) {
        return sum(values);
    }
    if values.iter().any(|(_, v)| is_ok(v)) {
        return Ok(Value::Okay);
    }
    match values.into_iter().next() {
        Some((node, Value::ServerError(error))) => Err(ClusterError::Server {
            node: node.to_owned(),
            error,
        }),
        Some((node, other)) => Err(unexpected(node, "OK or an integer", &other)),
        None => Ok(Value::Nil),
    }
}

fn is_ok(value: &Value) -> bool {
    matches!(value, Value::Okay) || matches!(value, Value::SimpleString(s) if s == "OK")
}

/// Pops from the first non-empty of several keys answer `[key, ...]`. Sent with tags stripped,
/// the server names the stored key; the caller gets the key as they wrote it (`queue{user1}`),
/// since several tagged keys may share one stored name. For the commands whose reply names a
/// key (the table's `NAMES_KEY`); `stored_keys` are `(argument index, stored name)`.
pub fn caller_key_name<A: AsRef<[u8]>>(
    args: &[A],
    stored_keys: &[(usize, &[u8])],
    reply: Value,
) -> Value {
    match reply {
        Value::Array(mut items) => {
            if let Some(Value::BulkString(stored)) = items.first()
                && let Some((at, _)) = stored_keys.iter().find(|(_, s)| *s == stored.as_slice())
            {
                items[0] = Value::BulkString(args[*at].as_ref().to_vec());
            }
            Value::Array(items)
        }
        other => other,
    }
}

/// A random index below `n` (n > 0), from the standard library's randomly seeded hasher: good
/// enough to spread RANDOMKEY over nodes, no dependency needed.
fn random_below(n: usize) -> usize {
    use std::hash::{BuildHasher, Hasher};
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    (random % n as u64) as usize
}

/// A reply of the wrong shape from a node.
pub fn unexpected(node: &str, expected: &str, got: &Value) -> ClusterError {
    ClusterError::Command(format!(
        "ERR {node} answered {got:?} where {expected} was expected"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_error(line: &str) -> Value {
        redis::parse_redis_value(format!("-{line}\r\n").as_bytes()).unwrap()
    }

    fn down(node: &str) -> ClusterError {
        let source: redis::RedisError =
            std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into();
        ClusterError::Connection {
            node: node.to_owned(),
            addr: "127.0.0.1:1".to_owned(),
            source,
        }
    }

    fn ok<'a>(pairs: &[(&'a str, Value)]) -> Replies<'a> {
        pairs.iter().map(|(n, v)| (*n, Ok(v.clone()))).collect()
    }

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn a_script_on_every_master_adds_integers_joins_arrays_or_agrees() {
        let ints = ok(&[("node_1", Value::Int(2)), ("node_2", Value::Int(3))]);
        assert_eq!(
            fan_out(b"EVAL", FanOutMerge::Combined, ints).unwrap(),
            Value::Int(5)
        );
        let arrays = ok(&[
            ("node_1", Value::Array(vec![bulk("a")])),
            ("node_2", Value::Array(vec![bulk("b"), bulk("c")])),
        ]);
        assert_eq!(
            fan_out(b"EVAL", FanOutMerge::Combined, arrays).unwrap(),
            Value::Array(vec![bulk("a"), bulk("b"), bulk("c")])
        );
        let same = ok(&[("node_1", Value::Okay), ("node_2", Value::Okay)]);
        assert_eq!(
            fan_out(b"EVAL", FanOutMerge::Combined, same).unwrap(),
            Value::Okay
        );
        let some_nil = ok(&[("node_1", Value::Nil), ("node_2", Value::Int(4))]);
        assert_eq!(
            fan_out(b"EVAL", FanOutMerge::Combined, some_nil).unwrap(),
            Value::Int(4)
        );
        let all_nil = ok(&[("node_1", Value::Nil), ("node_2", Value::Nil)]);
        assert_eq!(
            fan_out(b"EVAL", FanOutMerge::Combined, all_nil).unwrap(),
            Value::Nil
        );
        let differ = ok(&[("node_1", bulk("x")), ("node_2", bulk("y"))]);
        let error = fan_out(b"EVAL", FanOutMerge::Combined, differ)
            .unwrap_err()
            .to_string();
        assert!(error.contains("ran on every master"), "{error}");
        assert!(
            error.contains("node_1") && error.contains("node_2"),
            "{error}"
        );
    }

    #[test]
    fn a_script_that_failed_on_some_masters_only_is_a_partial_failure() {
        let no_script = server_error("NOSCRIPT No matching script.");
        let mixed = ok(&[("node_1", Value::Int(1)), ("node_2", no_script.clone())]);
        match fan_out(b"EVALSHA", FanOutMerge::Combined, mixed).unwrap_err() {
            ClusterError::Partial {
                failed, applied, ..
            } => {
                assert_eq!(applied, ["node_1"]);
                assert_eq!(failed[0].node(), Some("node_2"));
            }
            other => panic!("{other:?}"),
        }
        // Nowhere: the error as the server said it (NOSCRIPT everywhere is NOSCRIPT).
        let nowhere = ok(&[("node_1", no_script.clone()), ("node_2", no_script)]);
        let error = fan_out(b"EVALSHA", FanOutMerge::Combined, nowhere).unwrap_err();
        assert!(matches!(&error, ClusterError::Server { .. }), "{error:?}");
        assert!(error.to_string().starts_with("NOSCRIPT"), "{error}");
        let lost = vec![
            ("node_1", Ok(Value::Int(1))),
            ("node_2", Err(down("node_2"))),
        ];
        assert!(matches!(
            fan_out(b"EVAL", FanOutMerge::Combined, lost).unwrap_err(),
            ClusterError::Partial { .. }
        ));
    }

    #[test]
    fn key_order_puts_every_value_back_at_its_key() {
        // MGET k1 k2 k3 k4: node_2 has positions 1 and 3, node_1 positions 2 and 4.
        let groups = [
            SplitGroup {
                shard: 0,
                positions: vec![2, 4],
            },
            SplitGroup {
                shard: 1,
                positions: vec![1, 3],
            },
        ];
        let replies = ok(&[
            ("node_1", Value::Array(vec![bulk("b"), bulk("d")])),
            ("node_2", Value::Array(vec![bulk("a"), Value::Nil])),
        ]);
        assert_eq!(
            split(SplitMerge::KeyOrder, replies, &groups, 1).unwrap(),
            Value::Array(vec![bulk("a"), bulk("b"), Value::Nil, bulk("d")])
        );
        // MSET-like units: positions 1, 3 with unit 2 are keys 0 and 1.
        let groups = [SplitGroup {
            shard: 0,
            positions: vec![1, 3],
        }];
        let replies = ok(&[("node_1", Value::Array(vec![bulk("x"), bulk("y")]))]);
        assert_eq!(
            split(SplitMerge::KeyOrder, replies, &groups, 2).unwrap(),
            Value::Array(vec![bulk("x"), bulk("y")])
        );
        // A node answering the wrong number of values is an error naming it.
        let groups = [SplitGroup {
            shard: 0,
            positions: vec![1, 2],
        }];
        let replies = ok(&[("node_1", Value::Array(vec![bulk("x")]))]);
        let error = split(SplitMerge::KeyOrder, replies, &groups, 1).unwrap_err();
        assert!(error.to_string().contains("node_1"), "{error}");
    }

    #[test]
    fn sums_and_all_ok_fail_on_any_error() {
        let ints = ok(&[("node_1", Value::Int(2)), ("node_2", Value::Int(3))]);
        assert_eq!(split(SplitMerge::Sum, ints, &[], 1).unwrap(), Value::Int(5));
        let oks = ok(&[
            ("node_1", Value::Okay),
            ("node_2", Value::SimpleString("OK".into())),
        ]);
        assert_eq!(fan_out(b"X", FanOutMerge::AllOk, oks).unwrap(), Value::Okay);
        let refused = ok(&[
            ("node_1", Value::Okay),
            ("node_2", server_error("OOM no memory")),
        ]);
        let error = fan_out(b"X", FanOutMerge::AllOk, refused).unwrap_err();
        assert!(matches!(&error, ClusterError::Server { node, .. } if node == "node_2"));
        let unreachable: Replies<'_> = vec![
            ("node_1", Ok(Value::Int(1))),
            ("node_2", Err(down("node_2"))),
        ];
        let error = split(SplitMerge::Sum, unreachable, &[], 1).unwrap_err();
        assert_eq!(error.node(), Some("node_2"));
        let not_ok = ok(&[("node_1", Value::Int(1))]);
        assert!(fan_out(b"X", FanOutMerge::AllOk, not_ok).is_err());
    }

    #[test]
    fn per_node_keeps_error_replies_in_place() {
        let replies = ok(&[("node_1", bulk("a")), ("node_2", server_error("ERR nope"))]);
        let Value::Map(pairs) = fan_out(b"X", FanOutMerge::PerNode, replies).unwrap() else {
            panic!("a map")
        };
        assert_eq!(pairs[0], (bulk("node_1"), bulk("a")));
        assert!(matches!(pairs[1].1, Value::ServerError(_)));
        // ... but a node that cannot be reached fails it: the map would look complete.
        let replies: Replies<'_> = vec![("node_1", Ok(bulk("a"))), ("node_2", Err(down("node_2")))];
        assert!(fan_out(b"X", FanOutMerge::PerNode, replies).is_err());
    }

    #[test]
    fn concat_lines_min_and_same() {
        let arrays = ok(&[
            ("node_1", Value::Array(vec![bulk("a")])),
            ("node_2", Value::Set(vec![bulk("b"), bulk("c")])),
        ]);
        assert_eq!(
            fan_out(b"X", FanOutMerge::Concat, arrays).unwrap(),
            Value::Array(vec![bulk("a"), bulk("b"), bulk("c")])
        );
        let texts = ok(&[("node_1", bulk("id=1\n")), ("node_2", bulk("id=2\n"))]);
        assert_eq!(
            fan_out(b"X", FanOutMerge::Lines, texts).unwrap(),
            bulk("id=1\nid=2\n")
        );
        let saves = ok(&[("node_1", Value::Int(20)), ("node_2", Value::Int(10))]);
        assert_eq!(
            fan_out(b"X", FanOutMerge::Min, saves).unwrap(),
            Value::Int(10)
        );
        let agree = ok(&[("node_1", bulk("sha")), ("node_2", bulk("sha"))]);
        assert_eq!(
            fan_out(b"X", FanOutMerge::Same, agree).unwrap(),
            bulk("sha")
        );
        let disagree = ok(&[("node_1", bulk("a")), ("node_2", bulk("b"))]);
        let error = fan_out(b"X", FanOutMerge::Same, disagree)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("node_1") && error.contains("node_2"),
            "{error}"
        );
    }

    #[test]
    fn random_picks_among_the_non_nil_replies() {
        let replies = || {
            ok(&[
                ("node_1", Value::Nil),
                ("node_2", bulk("k")),
                ("node_3", Value::Nil),
            ])
        };
        for _ in 0..20 {
            assert_eq!(
                fan_out(b"X", FanOutMerge::Random, replies()).unwrap(),
                bulk("k")
            );
        }
        let empty = ok(&[("node_1", Value::Nil)]);
        assert_eq!(
            fan_out(b"X", FanOutMerge::Random, empty).unwrap(),
            Value::Nil
        );
    }

    #[test]
    fn any_ok_needs_one_node_that_knew() {
        // CLIENT KILL ID: one master had the client.
        let killed = ok(&[
            ("node_1", server_error("ERR No such client")),
            ("node_2", Value::Okay),
        ]);
        assert_eq!(
            fan_out(b"X", FanOutMerge::AnyOk, killed).unwrap(),
            Value::Okay
        );
        // CLIENT KILL with filters: how many each killed.
        let counted = ok(&[("node_1", Value::Int(1)), ("node_2", Value::Int(2))]);
        assert_eq!(
            fan_out(b"X", FanOutMerge::AnyOk, counted).unwrap(),
            Value::Int(3)
        );
        let nobody = ok(&[
            ("node_1", server_error("ERR No such client")),
            ("node_2", server_error("ERR No such client")),
        ]);
        let error = fan_out(b"X", FanOutMerge::AnyOk, nobody).unwrap_err();
        assert!(matches!(&error, ClusterError::Server { node, .. } if node == "node_1"));
    }

    #[test]
    fn partial_writes_name_both_sides() {
        let replies: Replies<'_> = vec![
            ("node_1", Ok(Value::Okay)),
            ("node_2", Err(down("node_2"))),
            ("node_3", Ok(server_error("OOM command not allowed"))),
        ];
        let Err(ClusterError::Partial {
            command,
            failed,
            applied,
        }) = all_applied(b"MSET", &replies)
        else {
            panic!("partial")
        };
        assert_eq!(command, "mset");
        assert_eq!(applied, ["node_1"]);
        assert_eq!(failed.len(), 2);
        assert!(all_applied(b"MSET", &ok(&[("node_1", Value::Okay)])).is_ok());
    }

    #[test]
    fn popped_keys_are_named_as_the_caller_wrote_them() {
        let args = ["BLPOP", "q{user1}", "q{user2}", "0"];
        let stored: [(usize, &[u8]); 2] = [(1, b"q"), (2, b"q")];
        let reply = Value::Array(vec![bulk("q"), bulk("job")]);
        assert_eq!(
            caller_key_name(&args, &stored, reply),
            Value::Array(vec![bulk("q{user1}"), bulk("job")])
        );
        assert_eq!(caller_key_name(&args, &stored, Value::Nil), Value::Nil);
    }
}
