//! SCAN over every master, one after another. The cursor the caller sees is
//! `node cursor × N + node index`: it names the master to ask next and that master's own
//! cursor, so `SCAN 0 …` walks every master exactly once and ends with 0. Masters only: a
//! cursor means something only on the server that gave it, and replicas take turns.

use redis::Value;

use crate::error::ClusterError;
use crate::executor::Executor;
use crate::merge::unexpected;
use crate::wire::request::pack_command;

/// One SCAN call; the reply, and the master that gave it (for errors).
pub fn scan<'e, A: AsRef<[u8]>>(
    executor: &'e Executor,
    args: &[A],
) -> Result<(Value, &'e str), ClusterError> {
    // Each master's index in this list is part of the cursor: on a Redis Cluster a failover
    // in the middle of a walk may change the list (as it ends the old master's cursor).
    let nodes = executor.master_nodes();
    let masters = nodes.len();
    let count = masters as u128;
    let invalid = || ClusterError::Command("ERR invalid cursor".to_owned());
    let cursor: u128 = std::str::from_utf8(args[1].as_ref())
        .ok()
        .and_then(|text| text.parse::<u64>().ok())
        .ok_or_else(invalid)?
        .into();
    let (mut index, mut node_cursor) = ((cursor % count) as usize, cursor / count);
    // A node that finishes its walk hands over to the next one within the same call while
    // fewer keys than COUNT were found, as one server's SCAN returns a small keyspace in
    // one call: the cursor is 0 only when every master has been walked.
    let wanted = scan_count(args);
    let mut found: Vec<Value> = Vec::new();
    loop {
        let text = node_cursor.to_string();
        let mut parts: Vec<&[u8]> = args.iter().map(AsRef::as_ref).collect();
        parts[1] = text.as_bytes();
        let mut packed = Vec::new();
        pack_command(&parts, &[], &mut packed);
        let node = executor.node(nodes[index]).master.name();
        let (next, keys) = match executor.on_node(nodes[index], &packed, true)? {
            Value::Array(mut reply) if reply.len() == 2 => {
                let keys = reply.pop().expect("two items");
                let next = match reply.pop().expect("two items") {
                    Value::BulkString(text) => std::str::from_utf8(&text)
                        .ok()
                        .and_then(|t| t.parse::<u64>().ok()),
                    _ => None,
                };
                match (next, keys) {
                    (Some(next), Value::Array(keys)) => (next, keys),
                    (_, keys) => return Err(unexpected(node, "a cursor and keys", &keys)),
                }
            }
            Value::ServerError(error) => return Ok((Value::ServerError(error), node)),
            other => return Err(unexpected(node, "a cursor and keys", &other)),
        };
        found.extend(keys);
        let next = match next {
            0 if index + 1 < masters => {
                index += 1;
                node_cursor = 0;
                if found.len() < wanted {
                    continue;
                }
                index as u128
            }
            0 => 0,
            node_next => u128::from(node_next) * count + index as u128,
        };
        // A cursor must fit the u64 that clients parse it into.
        let next =
            u64::try_from(next).map_err(|_| unexpected(node, "a smaller cursor", &Value::Nil))?;
        let reply = Value::Array(vec![
            Value::BulkString(next.to_string().into_bytes()),
            Value::Array(found),
        ]);
        return Ok((reply, node));
    }
}

/// SCAN's `COUNT` hint (10, as Redis, when not given).
fn scan_count<A: AsRef<[u8]>>(args: &[A]) -> usize {
    args.get(2..)
        .unwrap_or_default()
        .chunks_exact(2)
        .find(|pair| pair[0].as_ref().eq_ignore_ascii_case(b"COUNT"))
        .and_then(|pair| std::str::from_utf8(pair[1].as_ref()).ok()?.parse().ok())
        .unwrap_or(10)
}
