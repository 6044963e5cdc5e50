//! Pipelines and transactions over the cluster.
//!
//! A pipeline's commands are planned first, so a malformed one stops the pipeline with nothing
//! sent. Consecutive single-node commands are batched per master and every master's batch is
//! written before any reply is read (a long batch in 32 KiB writes as it is packed, so the
//! masters start early: `executor/eager.rs`); a command over several nodes (split, fan-out,
//! emulated) runs at its place in the sequence, so each key sees the commands in the caller's
//! order.
//! A transaction is MULTI/EXEC on the one master that owns all its keys; `OneConnection` plans,
//! packs and settles it, and also serves the commands and the transaction run on the connection
//! a WATCH holds (`watch.rs`).
//!
//! In a reshard's online window, a read of a key that may still be on its old master carries an
//! `EXISTS` probe in its batch; when the new master did not have the key, the old master is
//! asked after the batch (see `executor/window.rs`). Inside a transaction the probe runs inside
//! MULTI/EXEC, the old master's answer comes after EXEC (the window is not atomic across
//! servers).

use redis::Value;

use crate::commands::{self, FanOutMerge, Flags};
use crate::dispatch;
use crate::error::ClusterError;
use crate::executor::Executor;
use crate::executor::eager::EagerBatches;
use crate::executor::window::pack_exists;
use crate::merge::caller_key_name;
use crate::placement::PlacedKey;
use crate::router::{DEFAULT_SHARD, Plan, plan};
use crate::wire::request::pack_command;

/// A command's arguments and its tag-stripped keys `(argument index, stored name)`.
type Named<'c, A> = (&'c [A], Vec<(usize, &'c [u8])>);

/// A batched command whose reply needs more than its place (kept only for those: the common
/// command needs nothing after its batch has run).
struct Fixup<'c, A> {
    /// Where its reply is among the batch's replies.
    reply_at: usize,
    /// In the window: where its probe's reply is, the key and the packed command, for asking
    /// the old master.
    window: Option<(usize, PlacedKey<'c>, Vec<u8>)>,
    /// For a reply that names a key: the arguments and the tag-stripped keys.
    names_key: Option<Named<'c, A>>,
}

impl<A: AsRef<[u8]>> Fixup<'_, A> {
    /// For a reply that names a key: the key as the caller wrote it.
    fn name_the_key(&self, value: &mut Value) {
        if let Some((args, stored_keys)) = &self.names_key {
            *value = caller_key_name(args, stored_keys, std::mem::replace(value, Value::Nil));
        }
    }
}

/// Single-node commands batched per master (written as they fill a write, see
/// `EagerBatches`), with what their replies need afterwards.
struct Pending<'c, 'e, A> {
    batch: EagerBatches<'e>,
    fixups: Vec<Fixup<'c, A>>,
    /// The batch's places that hold a window probe, not a command's reply (ascending).
    probes: Vec<usize>,
}

impl<'c, 'e, A: AsRef<[u8]>> Pending<'c, 'e, A> {
    fn new(executor: &'e Executor) -> Self {
        Pending {
            batch: EagerBatches::new(executor),
            fixups: Vec::new(),
            probes: Vec::new(),
        }
    }

    /// Packs a single-node command (and, for a read of a key that may still be on its old
    /// master, an `EXISTS` probe before it).
    fn add(
        &mut self,
        args: &'c [A],
        shard: usize,
        stored_keys: Vec<(usize, &'c [u8])>,
        window: Option<PlacedKey<'c>>,
        names_key: bool,
    ) {
        let window = window.map(|key| {
            pack_exists(key.stored, self.batch.next_for(shard));
            let probe_at = self.batch.len() - 1;
            self.probes.push(probe_at);
            let mut packed = Vec::new();
            pack_command(args, &stored_keys, &mut packed);
            (probe_at, key, packed)
        });
        match &window {
            Some((_, _, packed)) => self.batch.next_for(shard).extend_from_slice(packed),
            None => pack_command(args, &stored_keys, self.batch.next_for(shard)),
        }
        self.batch.packed(shard);
        if window.is_some() || names_key {
            self.fixups.push(Fixup {
                reply_at: self.batch.len() - 1,
                window,
                names_key: names_key.then_some((args, stored_keys)),
            });
        }
    }

    /// Runs the batch; one reply per command (probes left out), the online window's misses
    /// asked of the old masters, key names put back.
    fn run(self, executor: &Executor) -> Vec<Result<Value, ClusterError>> {
        let Pending {
            batch,
            fixups,
            probes,
        } = self;
        let mut results = batch.run();
        let found = found_on_old_masters(executor, &fixups, |probe| {
            matches!(results[probe], Ok(Value::Int(0)))
        });
        for (at, value) in found {
            results[at] = Ok(value);
        }
        for fixup in &fixups {
            if let Ok(value) = &mut results[fixup.reply_at] {
                fixup.name_the_key(value);
            }
        }
        without_probes(results, probes)
    }
}

/// Runs `commands` as a pipeline (see the module's comment). One reply per command, in order:
/// `Ok(value)` (an error reply stays a `Value::ServerError`, as in a redis-rs pipeline) or the
/// failure of that command's node. Reads go to masters: a pipeline reads its own writes.
pub fn pipeline<A: AsRef<[u8]>>(
    executor: &Executor,
    commands: &[Vec<A>],
) -> Result<Vec<Result<Value, ClusterError>>, ClusterError> {
    let plans = commands
        .iter()
        .map(|args| executor.plan(args))
        .collect::<Result<Vec<_>, _>>()?;
    let mut replies = Vec::with_capacity(commands.len());
    let mut pending = Pending::new(executor);
    for (args, planned) in commands.iter().zip(plans) {
        match planned {
            Plan::Single {
                read: true,
                composable: true,
                ..
            } if executor.window_open() => {
                replies
                    .extend(std::mem::replace(&mut pending, Pending::new(executor)).run(executor));
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
                let window = executor.probed_key(args, first_key, read);
                pending.add(args, shard, stored_keys, window, names_key);
            }
            other => {
                replies
                    .extend(std::mem::replace(&mut pending, Pending::new(executor)).run(executor));
                replies.push(dispatch::run(executor, args, other).map(|(value, _)| value));
            }
        }
    }
    replies.extend(pending.run(executor));
    Ok(replies)
}

/// Runs `commands` in MULTI/EXEC on the one master that owns all their keys, atomically as
/// Redis makes it, and answers EXEC's reply. Keys on several masters (or a server-wide
/// command) are refused before anything is sent, naming the nodes.
pub fn transaction<A: AsRef<[u8]>>(
    executor: &Executor,
    commands: &[Vec<A>],
) -> Result<Value, ClusterError> {
    let queued = OneConnection::plan(executor, commands.iter().map(Vec::as_slice), None, "multi")?;
    let (packed, count) = queued.pack_transaction();
    let mut attempt = 0;
    loop {
        let replies = executor
            .master(queued.shard)
            .send(&packed)
            .and_then(|sent| sent.receive_many(count));
        // A command a Redis Cluster refused to queue because its slot moved (EXEC then
        // aborted, nothing applied): the whole transaction again, where the slot is now.
        let redirected = replies.as_ref().ok().and_then(|replies| {
            // Queued replies, and EXEC's own (a slot that moved between the two).
            replies[1..]
                .iter()
                .find(|reply| matches!(reply, Value::ServerError(_)))
        });
        if let Some(reply) = redirected
            && executor.learn_redirect(reply, attempt)
        {
            attempt += 1;
            continue;
        }
        return queued.settle_exec(executor, replies);
    }
}

/// Commands bound for one connection to one master: a transaction's (MULTI/EXEC on the master
/// of its keys), or those run under WATCH on the connection it holds (`watch.rs`). Planned and
/// checked before anything is sent, packed with the online window's probes, and their replies
/// settled afterwards (the window's misses asked of the old masters, key names put back): one
/// code path for both, so a transaction answers the same shapes with or without WATCH.
pub struct OneConnection<'c, A> {
    /// The master they run on: the one of their keys (`DEFAULT_SHARD` when none has keys), or
    /// the held connection's.
    pub shard: usize,
    /// One packed body per reply (window probes included).
    bodies: Vec<Vec<u8>>,
    fixups: Vec<Fixup<'c, A>>,
    /// The bodies' places that hold a window probe, not a command's reply (ascending).
    probes: Vec<usize>,
}

/// A command Redis flags neither `write`, `admin` nor `noscript` (the flag of SCRIPT, FUNCTION
/// and the other commands that change what every server runs): it only reads.
fn without_effect<A: AsRef<[u8]>>(args: &[A]) -> bool {
    commands::resolve(args).is_ok_and(|spec| {
        !(spec.flags.contains(Flags::WRITE)
            || spec.flags.contains(Flags::ADMIN)
            || spec.flags.contains(Flags::NOSCRIPT))
    })
}

impl<'c, A: AsRef<[u8]>> OneConnection<'c, A> {
    /// Plans `commands` for one connection. Their keys must share a master, and with `held`
    /// (the master a WATCH holds a connection to) be on that one; otherwise, and for what
    /// cannot run on one connection (a server-wide command, a connection setting, SORT with
    /// BY/GET patterns), an error before anything is sent. `command` names the action in a
    /// cross-node error (`multi`, or the command run under WATCH).
    pub fn plan(
        executor: &Executor,
        commands: impl IntoIterator<Item = &'c [A]>,
        held: Option<usize>,
        command: &str,
    ) -> Result<Self, ClusterError> {
        let masters = executor.unit_count();
        let mut shard = None;
        let mut nodes = Vec::new();
        let mut bodies = Vec::new();
        let mut fixups: Vec<Fixup<'c, A>> = Vec::new();
        let mut probes = Vec::new();
        for args in commands {
            match plan(args, executor.placement(), masters)? {
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
                    let window = executor.probed_key(args, first_key, read).map(|key| {
                        let mut probe = Vec::new();
                        pack_exists(key.stored, &mut probe);
                        probes.push(bodies.len());
                        bodies.push(probe);
                        let mut packed = Vec::new();
                        pack_command(args, &stored_keys, &mut packed);
                        (bodies.len() - 1, key, packed)
                    });
                    let mut body = Vec::new();
                    pack_command(args, &stored_keys, &mut body);
                    if window.is_some() || names_key {
                        fixups.push(Fixup {
                            reply_at: bodies.len(),
                            window,
                            names_key: names_key.then_some((args, stored_keys)),
                        });
                    }
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
                        match held {
                            None => {
                                "SORT with BY/GET patterns reads keys on any node, so it cannot run inside a transaction on one node"
                            }
                            Some(_) => {
                                "SORT with BY/GET patterns reads keys on any node, so it cannot run on the one connection a WATCH holds"
                            }
                        },
                    ));
                }
                Plan::Session(_) => {
                    return Err(refused(
                        args,
                        match held {
                            None => {
                                "connection settings apply to the whole client, not inside a transaction"
                            }
                            Some(_) => {
                                "connection settings apply to the whole client, not to the one connection a WATCH holds"
                            }
                        },
                    ));
                }
                // A server asked about itself, with no effect (PING, INFO, PUBSUB NUMSUB):
                // inside a transaction the only server is the transaction's, so it answers
                // alone. A merge over every master (DBSIZE's sum) would be wrong from one, and
                // a command with an effect on every master (SCRIPT LOAD, ACL SETUSER, BGSAVE)
                // applied on one would leave the others behind: both stay refused.
                Plan::FanOut {
                    merge: FanOutMerge::Same | FanOutMerge::PerNode,
                } if without_effect(args) => {
                    let mut body = Vec::new();
                    pack_command(args, &[], &mut body);
                    bodies.push(body);
                }
                Plan::FanOut { .. } | Plan::Walk => {
                    return Err(refused(
                        args,
                        match held {
                            None => {
                                "a server-wide command cannot run inside a transaction on one node"
                            }
                            Some(_) => {
                                "a server-wide command cannot run on the one connection a WATCH holds"
                            }
                        },
                    ));
                }
            }
        }
        nodes.extend(held);
        nodes.sort_unstable();
        nodes.dedup();
        if nodes.len() > 1 {
            return Err(ClusterError::CrossNode {
                command: command.to_owned(),
                nodes: nodes.into_iter().map(|u| executor.unit_name(u)).collect(),
                reason: match held {
                    None => {
                        "a transaction runs on one server, so all its keys must share a node: give them a common hash tag (a{t}, b{t})"
                    }
                    Some(_) => {
                        "under WATCH, commands and the transaction run on the one connection holding it, so their keys must share the watched keys' node: give them the same hash tag"
                    }
                },
            });
        }
        Ok(OneConnection {
            shard: held.or(shard).unwrap_or(DEFAULT_SHARD),
            bodies,
            fixups,
            probes,
        })
    }

    /// MULTI, the commands, EXEC, packed for one write, and how many replies come back (EXEC's
    /// is the last).
    pub fn pack_transaction(&self) -> (Vec<u8>, usize) {
        let mut packed = Vec::with_capacity(self.bodies.iter().map(Vec::len).sum::<usize>() + 32);
        pack_command(&["MULTI"], &[], &mut packed);
        self.bodies.iter().for_each(|b| packed.extend_from_slice(b));
        pack_command(&["EXEC"], &[], &mut packed);
        (packed, self.bodies.len() + 2)
    }

    /// MULTI and the commands, without EXEC (for a transaction whose EXEC waits on other
    /// masters, `transaction_per_node.rs`), and how many replies come back (MULTI's OK, then
    /// one QUEUED or error reply per body).
    pub fn pack_queued(&self) -> (Vec<u8>, usize) {
        let mut packed = Vec::with_capacity(self.bodies.iter().map(Vec::len).sum::<usize>() + 16);
        pack_command(&["MULTI"], &[], &mut packed);
        self.bodies.iter().for_each(|b| packed.extend_from_slice(b));
        (packed, self.bodies.len() + 1)
    }

    /// The commands as they are (no MULTI), packed for one write, and how many replies come
    /// back.
    pub fn pack(&self) -> (Vec<u8>, usize) {
        (self.bodies.concat(), self.bodies.len())
    }

    /// The caller's answer from the replies to `pack_transaction`'s write: EXEC's array, one
    /// reply per command (the window's misses asked of the old masters, key names put back,
    /// the probes taken out); `Value::Nil` when EXEC aborted (a watched key changed); an error
    /// reply to EXEC (EXECABORT) as `ClusterError::Server`.
    pub fn settle_exec(
        self,
        executor: &Executor,
        replies: Result<Vec<Value>, ClusterError>,
    ) -> Result<Value, ClusterError> {
        let node = executor.master_name(self.shard).to_owned();
        let results = match replies?.pop() {
            Some(Value::Array(results)) => results,
            Some(Value::ServerError(error)) => return Err(ClusterError::Server { node, error }),
            Some(reply) => return Ok(reply),
            None => {
                return Err(ClusterError::Command(
                    "ERR empty transaction batch".to_owned(),
                ));
            }
        };
        if results.len() != self.bodies.len() {
            return Ok(Value::Array(results)); // not EXEC's usual shape: as the server sent it
        }
        Ok(Value::Array(self.settle(executor, results)))
    }

    /// The commands' replies (from `pack`'s write, or EXEC's array), one per command: the
    /// online window's misses asked of the old masters, key names put back, the probes taken
    /// out. Error replies stay values.
    pub fn settle(self, executor: &Executor, mut results: Vec<Value>) -> Vec<Value> {
        let found = found_on_old_masters(executor, &self.fixups, |probe| {
            results[probe] == Value::Int(0)
        });
        for (at, value) in found {
            results[at] = value;
        }
        for fixup in &self.fixups {
            fixup.name_the_key(&mut results[fixup.reply_at]);
        }
        without_probes(results, self.probes)
    }
}

/// For the fix-ups whose probe says the new master lacks the key (`missing(probe place)`), the
/// old masters are asked: `(reply place, old master's reply)` for each key found there.
fn found_on_old_masters<A>(
    executor: &Executor,
    fixups: &[Fixup<'_, A>],
    missing: impl Fn(usize) -> bool,
) -> Vec<(usize, Value)> {
    let misses: Vec<(usize, PlacedKey<'_>, &[u8])> = fixups
        .iter()
        .filter_map(|f| {
            let (probe, key, packed) = f.window.as_ref()?;
            missing(*probe).then_some((f.reply_at, *key, packed.as_slice()))
        })
        .collect();
    if misses.is_empty() {
        return Vec::new();
    }
    let asked: Vec<(PlacedKey<'_>, &[u8])> = misses
        .iter()
        .map(|(_, key, packed)| (*key, *packed))
        .collect();
    misses
        .iter()
        .zip(executor.ask_old_masters(&asked))
        .filter_map(|((at, _, _), found)| Some((*at, found?)))
        .collect()
}

/// The replies with the probes' places (ascending) taken out.
fn without_probes<T>(replies: Vec<T>, probes: Vec<usize>) -> Vec<T> {
    if probes.is_empty() {
        return replies;
    }
    let mut probes = probes.into_iter().peekable();
    replies
        .into_iter()
        .enumerate()
        .filter(|(at, _)| probes.next_if_eq(at).is_none())
        .map(|(_, reply)| reply)
        .collect()
}

fn refused<A: AsRef<[u8]>>(args: &[A], reason: &'static str) -> ClusterError {
    ClusterError::Refused {
        command: String::from_utf8_lossy(args[0].as_ref()).to_ascii_lowercase(),
        reason,
    }
}
