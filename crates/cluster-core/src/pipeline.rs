//! Pipelines and transactions over the cluster.
//!
//! A pipeline's commands are planned first, so a malformed one stops the pipeline with nothing
//! sent. Consecutive single-node commands are batched per master and every master's batch is
//! written before any reply is read; a command over several nodes (split, fan-out, emulated)
//! runs at its place in the sequence, so each key sees the commands in the caller's order.
//! A transaction is MULTI/EXEC on the one master that owns all its keys.
//!
//! In a reshard's online window, a read of a key that may still be on its old master carries an
//! `EXISTS` probe in its batch; when the new master did not have the key, the old master is
//! asked after the batch (see `executor/window.rs`). Inside a transaction the probe runs inside
//! MULTI/EXEC, the old master's answer comes after EXEC (the window is not atomic across
//! servers).

use redis::Value;

use crate::dispatch;
use crate::error::ClusterError;
use crate::executor::Executor;
use crate::executor::batches::MasterBatches;
use crate::executor::window::pack_exists;
use crate::merge::caller_key_name;
use crate::placement::{PlacedKey, node_name};
use crate::router::{DEFAULT_SHARD, Plan, plan};
use crate::wire::request::pack_command;

/// A command's arguments and its tag-stripped keys `(argument index, stored name)`.
type Named<'c, A> = (&'c [A], Vec<(usize, &'c [u8])>);

/// What a batched command needs once its batch has run.
struct Entry<'c, A> {
    /// Where its reply is among the batch's replies.
    reply_at: usize,
    /// In the window: where its probe's reply is, the key and the packed command, for asking
    /// the old master.
    window: Option<(usize, PlacedKey<'c>, Vec<u8>)>,
    /// For a reply that names a key: the arguments and the tag-stripped keys.
    names_key: Option<Named<'c, A>>,
}

/// Runs `commands` as a pipeline (see the module's comment). One reply per command, in order:
/// `Ok(value)` (an error reply stays a `Value::ServerError`, as in a redis-rs pipeline) or the
/// failure of that command's node. Reads go to masters: a pipeline reads its own writes.
pub fn pipeline<A: AsRef<[u8]>>(
    executor: &Executor,
    commands: &[Vec<A>],
) -> Result<Vec<Result<Value, ClusterError>>, ClusterError> {
    let masters = executor.master_count();
    let plans = commands
        .iter()
        .map(|args| plan(args, masters))
        .collect::<Result<Vec<_>, _>>()?;
    let mut replies = Vec::with_capacity(commands.len());
    let mut batch = MasterBatches::default();
    let mut entries: Vec<Entry<'_, A>> = Vec::new();
    for (args, planned) in commands.iter().zip(plans) {
        match planned {
            Plan::Single {
                read: true,
                composable: true,
                ..
            } if executor.window_open() => {
                replies.extend(run_batch(
                    executor,
                    std::mem::take(&mut batch),
                    &mut entries,
                ));
                replies.push(dispatch::run(executor, args, planned).map(|(value, _)| value));
            }
            Plan::Single {
                shard,
                read,
                stored_keys,
                first_key,
                names_key,
                ..
            } => {
                let window = first_key
                    .filter(|_| read && executor.window_open())
                    .map(|at| PlacedKey::new(args[at].as_ref(), masters))
                    .filter(|key| executor.old_master(key).is_some());
                let window = window.map(|key| {
                    pack_exists(key.stored, batch.next_for(shard));
                    let probe_at = batch.len() - 1;
                    let mut packed = Vec::new();
                    pack_command(args, &stored_keys, &mut packed);
                    (probe_at, key, packed)
                });
                match &window {
                    Some((_, _, packed)) => batch.next_for(shard).extend_from_slice(packed),
                    None => pack_command(args, &stored_keys, batch.next_for(shard)),
                }
                entries.push(Entry {
                    reply_at: batch.len() - 1,
                    window,
                    names_key: names_key.then_some((args.as_slice(), stored_keys)),
                });
            }
            other => {
                replies.extend(run_batch(
                    executor,
                    std::mem::take(&mut batch),
                    &mut entries,
                ));
                replies.push(dispatch::run(executor, args, other).map(|(value, _)| value));
            }
        }
    }
    replies.extend(run_batch(executor, batch, &mut entries));
    Ok(replies)
}

/// Runs a batch of single-node commands; one reply per entry (probes left out), the online
/// window's misses asked of the old masters, key names put back.
fn run_batch<A: AsRef<[u8]>>(
    executor: &Executor,
    batch: MasterBatches,
    entries: &mut Vec<Entry<'_, A>>,
) -> Vec<Result<Value, ClusterError>> {
    let entries = std::mem::take(entries);
    if entries.is_empty() {
        return Vec::new();
    }
    let mut results = executor.run_batches(batch);
    let mut replies: Vec<Result<Value, ClusterError>> = entries
        .iter()
        .map(|entry| std::mem::replace(&mut results[entry.reply_at], Ok(Value::Nil)))
        .collect();
    let misses: Vec<usize> = (0..entries.len())
        .filter(|&i| {
            entries[i]
                .window
                .as_ref()
                .is_some_and(|(probe, _, _)| matches!(results[*probe], Ok(Value::Int(0))))
        })
        .collect();
    if !misses.is_empty() {
        let asked: Vec<(PlacedKey<'_>, &[u8])> = misses
            .iter()
            .filter_map(|&i| entries[i].window.as_ref())
            .map(|(_, key, packed)| (*key, packed.as_slice()))
            .collect();
        for (&i, found) in misses.iter().zip(executor.ask_old_masters(&asked)) {
            if let Some(value) = found {
                replies[i] = Ok(value);
            }
        }
    }
    for (entry, reply) in entries.iter().zip(&mut replies) {
        if let (Some((args, stored_keys)), Ok(value)) = (&entry.names_key, reply) {
            *value = caller_key_name(args, stored_keys, std::mem::replace(value, Value::Nil));
        }
    }
    replies
}

/// Runs `commands` in MULTI/EXEC on the one master that owns all their keys, atomically as
/// Redis makes it, and answers EXEC's reply. Keys on several masters (or a server-wide
/// command) are refused before anything is sent, naming the nodes.
pub fn transaction<A: AsRef<[u8]>>(
    executor: &Executor,
    commands: &[Vec<A>],
) -> Result<Value, ClusterError> {
    let masters = executor.master_count();
    let mut shard = None;
    let mut nodes = Vec::new();
    let mut bodies = Vec::with_capacity(commands.len());
    let mut entries: Vec<Entry<'_, A>> = Vec::with_capacity(commands.len());
    for args in commands {
        match plan(args, masters)? {
            Plan::Single {
                shard: this,
                read,
                stored_keys,
                keyed,
                first_key,
                names_key,
                ..
            } => {
                if keyed {
                    shard.get_or_insert(this);
                    if !nodes.contains(&this) {
                        nodes.push(this);
                    }
                }
                let window = first_key
                    .filter(|_| read && executor.window_open())
                    .map(|at| PlacedKey::new(args[at].as_ref(), masters))
                    .filter(|key| executor.old_master(key).is_some());
                let mut body = Vec::new();
                let window = window.map(|key| {
                    pack_exists(key.stored, &mut body);
                    let mut packed = Vec::new();
                    pack_command(args, &stored_keys, &mut packed);
                    (bodies.len(), key, packed)
                });
                if window.is_some() {
                    bodies.push(body);
                }
                let mut body = Vec::new();
                pack_command(args, &stored_keys, &mut body);
                entries.push(Entry {
                    reply_at: bodies.len(),
                    window,
                    names_key: names_key.then_some((args.as_slice(), stored_keys)),
                });
                bodies.push(body);
            }
            Plan::Split { groups, .. } => nodes.extend(groups.iter().map(|g| g.shard)),
            Plan::Emulated { keys, .. } if keys.iter().any(|k| k.1 != keys[0].1) => {
                nodes.extend(keys.iter().map(|(_, s)| *s))
            }
            // On one node, only SORT with BY/GET patterns is composed: its pattern keys
            // may live anywhere.
            Plan::Emulated { .. } => {
                return Err(refused(
                    args,
                    "SORT with BY/GET patterns reads keys on any node, so it cannot run inside a transaction on one node",
                ));
            }
            Plan::Session(_) => {
                return Err(refused(
                    args,
                    "connection settings apply to the whole client, not inside a transaction",
                ));
            }
            Plan::FanOut { .. } | Plan::Walk => {
                return Err(refused(
                    args,
                    "a server-wide command cannot run inside a transaction on one node",
                ));
            }
        }
    }
    nodes.sort_unstable();
    nodes.dedup();
    if nodes.len() > 1 {
        return Err(ClusterError::CrossNode {
            command: "multi".to_owned(),
            nodes: nodes.into_iter().map(node_name).collect(),
            reason: "a transaction runs on one server, so all its keys must share a node: give them a common hash tag (a{t}, b{t})",
        });
    }
    let shard = shard.unwrap_or(DEFAULT_SHARD);
    let mut batch = MasterBatches::default();
    pack_command(&["MULTI"], &[], batch.next_for(shard));
    for body in &bodies {
        batch.next_for(shard).extend_from_slice(body);
    }
    pack_command(&["EXEC"], &[], batch.next_for(shard));
    let node = node_name(shard);
    let results = match executor.run_batches(batch).pop() {
        Some(Ok(Value::Array(results))) => results,
        Some(Ok(Value::ServerError(error))) => return Err(ClusterError::Server { node, error }),
        Some(reply) => return reply,
        None => {
            return Err(ClusterError::Command(
                "ERR empty transaction batch".to_owned(),
            ));
        }
    };
    Ok(Value::Array(settle_exec(executor, results, &entries)))
}

/// EXEC's replies, one per command of the caller's: the probes taken out, the online window's
/// misses asked of the old masters, key names put back.
fn settle_exec<A: AsRef<[u8]>>(
    executor: &Executor,
    mut results: Vec<Value>,
    entries: &[Entry<'_, A>],
) -> Vec<Value> {
    if results.len() != entries.len() + entries.iter().filter(|e| e.window.is_some()).count() {
        return results; // not EXEC's usual shape: as the server sent it
    }
    let misses: Vec<&Entry<'_, A>> = entries
        .iter()
        .filter(|e| matches!(&e.window, Some((probe, _, _)) if results[*probe] == Value::Int(0)))
        .collect();
    let asked: Vec<(PlacedKey<'_>, &[u8])> = misses
        .iter()
        .filter_map(|e| e.window.as_ref())
        .map(|(_, key, packed)| (*key, packed.as_slice()))
        .collect();
    for (entry, found) in misses.iter().zip(executor.ask_old_masters(&asked)) {
        if let Some(value) = found {
            results[entry.reply_at] = value;
        }
    }
    entries
        .iter()
        .map(|entry| {
            let value = std::mem::replace(&mut results[entry.reply_at], Value::Nil);
            match &entry.names_key {
                Some((args, stored_keys)) => caller_key_name(args, stored_keys, value),
                None => value,
            }
        })
        .collect()
}

fn refused<A: AsRef<[u8]>>(args: &[A], reason: &'static str) -> ClusterError {
    ClusterError::Refused {
        command: String::from_utf8_lossy(args[0].as_ref()).to_ascii_lowercase(),
        reason,
    }
}
