//! `Cluster`: the engine's front. Plans a command, runs it on the node(s) it belongs to and
//! returns the reply. Shared between threads (`Send + Sync`); cheap to clone.

use std::sync::Arc;

use redis::Value;

use crate::batches::MasterBatches;
use crate::commands::Merge;
use crate::config::{ClusterConfig, NodeConfig};
use crate::error::ClusterError;
use crate::handle::ClusterConnection;
use crate::health::spawn_checker;
use crate::placement::{master_index_for_key, split_tag};
use crate::pool::NodePool;
use crate::resp::pack_command;
use crate::router::{DEFAULT_SHARD, Plan, SplitGroup, plan};
use crate::topology::{Replica, Shard, Topology};

/// A sharded set of Redis masters (and their replicas).
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Topology>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Addresses only: configs hold passwords (redacted by `Secret`, but keep this short).
        let masters: Vec<String> = self
            .inner
            .shards
            .iter()
            .map(|s| s.master.config().addr())
            .collect();
        f.debug_struct("Cluster")
            .field("masters", &masters)
            .finish()
    }
}

impl Cluster {
    /// Builds the cluster from a validated config. Unless reads go to masters only, each
    /// master is asked for its replicas (unless `master_of` names them) and each replica for
    /// its link and lag, before this returns; then a background thread repeats that every
    /// `replica_check_interval` (see `health.rs`). A node that cannot be reached now does not
    /// stop the client: its keys fail until it answers.
    pub fn new(config: ClusterConfig) -> Result<Cluster, ClusterError> {
        let topology = Arc::new(Topology::new(&config)?);
        // Best effort: an unreachable master must not stop the others from serving.
        let _ = topology.check_replicas(true);
        spawn_checker(&topology);
        Ok(Cluster { inner: topology })
    }

    /// The same client again, for a forked child process: the same config and connection
    /// settings (SELECT, AUTH, CLIENT SETNAME, ...), but its own connections and background
    /// checks. A child must not use its parent's connections (both processes would read each
    /// other's replies), and must not drop its copy of the parent's client either: a lock that
    /// one of the parent's threads held at the fork stays held in the child. Bindings call
    /// this on a child's first use and leak the inherited client.
    pub fn reopened(&self) -> Result<Cluster, ClusterError> {
        let (_, settings) = self.inner.session.snapshot();
        let cluster = Cluster::new(self.inner.config.clone())?;
        cluster.inner.session.update(|state| *state = settings);
        Ok(cluster)
    }

    /// Masters from `(name, "host:port")` pairs named `node_1..node_N`.
    pub fn from_nodes<N: AsRef<str>, A: AsRef<str>>(
        nodes: impl IntoIterator<Item = (N, A)>,
    ) -> Result<Cluster, ClusterError> {
        Cluster::new(ClusterConfig::from_nodes(nodes)?)
    }

    /// Masters from `redis://` URLs, `node_1` first.
    pub fn from_urls<S: AsRef<str>>(urls: &[S]) -> Result<Cluster, ClusterError> {
        Cluster::new(ClusterConfig::from_urls(urls)?)
    }

    /// A connection-like handle for `redis::Commands`.
    pub fn handle(&self) -> ClusterConnection {
        ClusterConnection::new(self.clone())
    }

    /// The name of the master a key lands on, tags honoured (`bar{foo}` → foo's node).
    pub fn node_for(&self, key: impl AsRef<[u8]>) -> &str {
        self.master_for(key.as_ref()).name()
    }

    /// The settings of the master a key lands on.
    pub fn node_config_for(&self, key: impl AsRef<[u8]>) -> &NodeConfig {
        self.master_for(key.as_ref()).config()
    }

    /// Every master's settings, `node_1` first.
    pub fn masters(&self) -> Vec<&NodeConfig> {
        self.inner
            .shards
            .iter()
            .map(|s| s.master.config())
            .collect()
    }

    /// How many masters there are (N in `crc32 % N`).
    pub fn master_count(&self) -> usize {
        self.inner.shards.len()
    }

    /// The replicas currently known for a master (`node_k`).
    pub fn replicas_of(&self, node: &str) -> Vec<NodeConfig> {
        self.shard_named(node)
            .map(Shard::replica_configs)
            .unwrap_or_default()
    }

    /// The replicas known for a master (`node_k`), each with whether it serves reads now
    /// (its link is up and its lag within `max_replica_lag`).
    pub fn replica_health_of(&self, node: &str) -> Vec<(NodeConfig, bool)> {
        self.shard_named(node)
            .map(Shard::replica_states)
            .unwrap_or_default()
    }

    /// Asks every master for its replicas and every replica for its health now, instead of
    /// waiting for the next background check (after adding or removing one). A master that
    /// cannot be asked is the error; the others are checked anyway.
    pub fn discover_replicas(&self) -> Result<(), ClusterError> {
        let checked = self.inner.check_replicas(true);
        // Replicas named by `master_of` are not discovered: nothing to report.
        if self.inner.config.explicit_replicas {
            return Ok(());
        }
        checked
    }

    /// The client's connection settings (SELECT, CLIENT SETNAME, ...).
    pub(crate) fn session(&self) -> &crate::session::Session {
        &self.inner.session
    }

    /// One connection of every master takes the client's settings now (see `session.rs`).
    pub(crate) fn refresh_masters(&self) -> Result<(), ClusterError> {
        self.inner
            .shards
            .iter()
            .try_for_each(|shard| shard.master.refresh())
    }

    /// During a reshard's online window (`previous` in the config): the key's old master, when
    /// it is another server than `master`.
    fn previous_for(&self, key: &[u8], master: &NodePool) -> Option<&NodePool> {
        let previous = &self.inner.previous;
        if previous.is_empty() {
            return None;
        }
        let old = &previous[master_index_for_key(key, previous.len())];
        (old.config().addr() != master.config().addr()).then_some(old)
    }

    /// MGET in the online window: each key its new master did not have is asked again through
    /// `window_read` (old master, then new master again).
    fn window_fill<A: AsRef<[u8]>>(
        &self,
        args: &[A],
        values: &mut [Value],
        unit: usize,
    ) -> Result<(), ClusterError> {
        if self.inner.previous.is_empty() {
            return Ok(());
        }
        for (i, value) in values.iter_mut().enumerate() {
            if *value != Value::Nil {
                continue;
            }
            let key = args[1 + i * unit].as_ref();
            let master = self.master_for(key);
            if let Some(old) = self.previous_for(key, master) {
                let stored = split_tag(key).stored;
                let mut get = Vec::new();
                pack_command(&[b"GET".as_slice(), stored], &[], &mut get);
                *value = window_read(master, old, stored, &get)?;
            }
        }
        Ok(())
    }

    /// Closes every idle pooled connection (redis-py's `close()`); the cluster stays usable and
    /// reconnects on the next call.
    pub fn disconnect(&self) {
        self.inner.shards.iter().for_each(Shard::disconnect);
    }

    /// Runs one command where it belongs and returns its reply; an error reply from the server
    /// is `ClusterError::Server`.
    pub fn execute<A: AsRef<[u8]>>(&self, args: &[A]) -> Result<Value, ClusterError> {
        let (value, node) = self.run(args)?;
        error_reply_as_err(node, value)
    }

    /// Runs a command on one named master, as is: no routing, no tag stripping.
    pub fn execute_on<A: AsRef<[u8]>>(
        &self,
        node: &str,
        args: &[A],
    ) -> Result<Value, ClusterError> {
        let shard = self.shard_named(node).ok_or_else(|| {
            ClusterError::Command(format!(
                "no master named '{node}' (masters are node_1..node_{})",
                self.inner.shards.len()
            ))
        })?;
        let mut packed = Vec::new();
        pack_command(args, &[], &mut packed);
        error_reply_as_err(node, shard.master.query(&packed)?)
    }

    /// Runs a command on every master at once, as is; one result per master, `node_1` first.
    pub fn execute_on_all<A: AsRef<[u8]>>(
        &self,
        args: &[A],
    ) -> Vec<(String, Result<Value, ClusterError>)> {
        let mut packed = Vec::new();
        pack_command(args, &[], &mut packed);
        self.scatter(&packed)
            .into_iter()
            .map(|(node, reply)| {
                let reply = reply.and_then(|value| error_reply_as_err(node, value));
                (node.to_owned(), reply)
            })
            .collect()
    }

    /// Plans and runs a command; the reply may be a `Value::ServerError` (kept as a value so
    /// pipelines can report it in place). Also returns the node that answered, for errors.
    pub(crate) fn run<A: AsRef<[u8]>>(&self, args: &[A]) -> Result<(Value, &str), ClusterError> {
        let planned = plan(args, self.inner.shards.len())?;
        self.run_plan(args, planned)
    }

    /// Runs a command already planned (see `run`).
    pub(crate) fn run_plan<A: AsRef<[u8]>>(
        &self,
        args: &[A],
        planned: Plan<'_>,
    ) -> Result<(Value, &str), ClusterError> {
        let shards = &self.inner.shards;
        match planned {
            Plan::Single {
                shard,
                read,
                stored_keys,
                first_key,
                ..
            } => {
                let mut packed = Vec::new();
                pack_command(args, &stored_keys, &mut packed);
                let shard = &shards[shard];
                if read
                    && let Some(at) = first_key
                    && let Some(old) = self.previous_for(args[at].as_ref(), &shard.master)
                {
                    let stored = split_tag(args[at].as_ref()).stored;
                    let reply = window_read(&shard.master, old, stored, &packed)?;
                    return Ok((
                        caller_key_name(args, &stored_keys, reply),
                        shard.master.name(),
                    ));
                }
                let reply = if read && !self.inner.config.masters_only {
                    self.read(shard, &packed)?
                } else {
                    ask_master(shard, &packed, read)?
                };
                Ok((
                    caller_key_name(args, &stored_keys, reply),
                    shard.master.name(),
                ))
            }
            Plan::Split {
                merge,
                read,
                unit,
                groups,
            } => {
                let reply = self.run_split(args, merge, read, unit, &groups)?;
                Ok((reply, shards[groups[0].shard].master.name()))
            }
            Plan::FanOut {
                merge: Merge::Cursor,
            } => self.scan(args),
            Plan::Emulated { command, keys } => {
                let reply = crate::emulate::run(self, command, args, &keys)?;
                Ok((reply, shards[keys[0].1].master.name()))
            }
            Plan::Session(command) => Ok((
                self.run_session(command, args)?,
                shards[DEFAULT_SHARD].master.name(),
            )),
            Plan::FanOut { merge } => {
                let mut packed = Vec::new();
                pack_command(args, &[], &mut packed);
                let replies = self.scatter(&packed);
                Ok((merge_replies(merge, replies)?, shards[0].master.name()))
            }
        }
    }

    /// A command over independent keys on several masters: every master's part is written
    /// before any reply is read, so the masters work at the same time. Reads go to replicas
    /// like single-key reads (a failing replica's part is asked of its master). Not atomic: a
    /// failure on one node leaves the other nodes' parts applied, and the call fails naming it.
    fn run_split<A: AsRef<[u8]>>(
        &self,
        args: &[A],
        merge: Merge,
        read: bool,
        unit: usize,
        groups: &[SplitGroup],
    ) -> Result<Value, ClusterError> {
        let shards = &self.inner.shards;
        let packed: Vec<Vec<u8>> = groups
            .iter()
            .map(|group| pack_keys(args, &group.positions, unit))
            .collect();
        let replicas: Vec<Option<Arc<Replica>>> = groups
            .iter()
            .map(|group| match read && !self.inner.config.masters_only {
                true => shards[group.shard].pick_replica(),
                false => None,
            })
            .collect();
        let sent: Vec<_> = groups
            .iter()
            .zip(&replicas)
            .zip(&packed)
            .map(|((group, replica), packed)| match replica {
                Some(replica) => replica.pool.send(packed),
                None => shards[group.shard].master.send(packed),
            })
            .collect();
        let mut replies = Vec::with_capacity(groups.len());
        for (((group, replica), packed), sent) in
            groups.iter().zip(&replicas).zip(&packed).zip(sent)
        {
            let shard = &shards[group.shard];
            let received = sent.and_then(|flight| flight.receive());
            let reply = match replica {
                Some(replica) => replica_or_master(&self.inner, shard, replica, received, packed),
                None => received,
            };
            replies.push((shard.master.name(), reply));
        }
        if !read {
            check_all_applied(args, &replies)?;
        }
        match merge {
            Merge::KeyOrder => {
                let mut values = in_key_order(replies, groups, unit)?;
                if read && let Value::Array(items) = &mut values {
                    self.window_fill(args, items, unit)?;
                }
                Ok(values)
            }
            _ => merge_replies(merge, replies),
        }
    }

    /// SCAN over every master, one after another. The cursor the caller sees is
    /// `node cursor × N + node index`: it names the master to ask next and that master's own
    /// cursor, so `SCAN 0 …` walks every master exactly once and ends with 0. Masters only: a
    /// cursor means something only on the server that gave it, and replicas take turns.
    fn scan<A: AsRef<[u8]>>(&self, args: &[A]) -> Result<(Value, &str), ClusterError> {
        let shards = &self.inner.shards;
        let count = shards.len() as u128;
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
            let shard = &shards[index];
            let node = shard.master.name();
            let (next, keys) = match ask_master(shard, &packed, true)? {
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
                0 if index + 1 < shards.len() => {
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
            let next = u64::try_from(next)
                .map_err(|_| unexpected(node, "a smaller cursor", &Value::Nil))?;
            let reply = Value::Array(vec![
                Value::BulkString(next.to_string().into_bytes()),
                Value::Array(found),
            ]);
            return Ok((reply, node));
        }
    }

    /// A read: a replica answers when one is usable; a replica that fails (unreachable, timed
    /// out, loading, lost its master) is rested and the master answers instead.
    fn read(&self, shard: &Shard, packed: &[u8]) -> Result<Value, ClusterError> {
        match shard.pick_replica() {
            Some(replica) => {
                let reply = replica.pool.query(packed);
                replica_or_master(&self.inner, shard, &replica, reply, packed)
            }
            None => ask_master(shard, packed, true),
        }
    }

    /// Runs commands on masters (`(master index, arguments)`), every master's batch written in
    /// one go before any reply is read; the replies in the caller's order, error replies as
    /// values. Emulations read and write through this, on masters only: what they write must
    /// be computed from current data, not from a replica that may lag.
    pub(crate) fn run_on_masters(
        &self,
        commands: &[(usize, Vec<&[u8]>)],
    ) -> Result<Vec<Value>, ClusterError> {
        let mut batches = MasterBatches::default();
        for (shard, args) in commands {
            pack_command(args, &[], batches.next_for(*shard));
        }
        self.run_batches(batches).into_iter().collect()
    }

    /// Runs packed commands on their masters: every master's commands written in one go, all
    /// masters before any reply is read; each command's reply in the caller's order. A master
    /// that fails fails each of its commands, in place.
    pub(crate) fn run_batches(&self, batches: MasterBatches) -> Vec<Result<Value, ClusterError>> {
        let shards = &self.inner.shards;
        let mut replies: Vec<Result<Value, ClusterError>> =
            (0..batches.len()).map(|_| Ok(Value::Nil)).collect();
        let batches = batches.into_batches();
        let sent: Vec<_> = batches
            .iter()
            .map(|batch| shards[batch.shard].master.send(&batch.packed))
            .collect();
        for (batch, sent) in batches.iter().zip(sent) {
            // Every batch is read, even after another failed, so no connection is left mid-reply.
            match sent.and_then(|flight| flight.receive_many(batch.places.len())) {
                Ok(values) => batch
                    .places
                    .iter()
                    .zip(values)
                    .for_each(|(i, v)| replies[*i] = Ok(v)),
                Err(e) => batch
                    .places
                    .iter()
                    .for_each(|i| replies[*i] = Err(e.clone())),
            }
        }
        replies
    }

    /// Writes the command to every master, then reads every reply: the masters work at the
    /// same time, and the call takes as long as the slowest, not the sum.
    pub(crate) fn scatter(&self, packed: &[u8]) -> Vec<(&str, Result<Value, ClusterError>)> {
        let shards = &self.inner.shards;
        let sent: Vec<_> = shards.iter().map(|s| s.master.send(packed)).collect();
        shards
            .iter()
            .zip(sent)
            .map(|(shard, sent)| {
                (
                    shard.master.name(),
                    sent.and_then(|flight| flight.receive()),
                )
            })
            .collect()
    }

    fn master_for(&self, key: &[u8]) -> &NodePool {
        let shards = &self.inner.shards;
        &shards[master_index_for_key(key, shards.len())].master
    }

    fn shard_named(&self, node: &str) -> Option<&Shard> {
        self.inner.shards.iter().find(|s| s.master.name() == node)
    }
}

/// A replica's reply, or, when the replica failed or cannot serve reads right now, the
/// master's (the replica is rested for a while, and the replicas are checked again at once).
fn replica_or_master(
    topology: &Topology,
    shard: &Shard,
    replica: &Replica,
    reply: Result<Value, ClusterError>,
    packed: &[u8],
) -> Result<Value, ClusterError> {
    match reply {
        Ok(Value::ServerError(e)) if replica_unready(&e) => {}
        Ok(value) => return Ok(value),
        Err(_) => {}
    }
    replica.mark_down();
    topology.checker_signal.check_now();
    ask_master(shard, packed, true)
}

/// Sends to the shard's master. A read whose connection broke is sent once more on a fresh
/// connection (an idle one can be stale after a server restart); a write never is, since the
/// first attempt may have been applied, and neither is a timeout, which would only double the
/// wait.
fn ask_master(shard: &Shard, packed: &[u8], is_read: bool) -> Result<Value, ClusterError> {
    match shard.master.query(packed) {
        Err(ClusterError::Connection { .. }) if is_read => shard.master.query(packed),
        other => other,
    }
}

/// A read in the online window: the key's new master answers if it has the key; otherwise its
/// old master, if the key is still there; otherwise (it moved in between, or does not exist)
/// the new master. Each step asks `EXISTS` and the command in one round trip, so the answer
/// always comes from a server that had the key when asked. Writes never come here. An old
/// master that cannot be reached is a miss: the window never makes a read fail.
fn window_read(
    new: &NodePool,
    old: &NodePool,
    stored: &[u8],
    packed: &[u8],
) -> Result<Value, ClusterError> {
    let mut probe = Vec::new();
    pack_command(&[b"EXISTS".as_slice(), stored], &[], &mut probe);
    let with_probe = [probe.as_slice(), packed].concat();
    let mut replies = new.send(&with_probe)?.receive_many(2)?;
    if replies[0] == Value::Int(1) {
        return Ok(replies.swap_remove(1));
    }
    if let Ok(mut old_replies) = old.send(&with_probe).and_then(|sent| sent.receive_many(2))
        && old_replies[0] == Value::Int(1)
    {
        return Ok(old_replies.swap_remove(1));
    }
    new.query(packed)
}

/// A server's error reply as `ClusterError::Server`, naming the node that gave it.
fn error_reply_as_err(node: &str, value: Value) -> Result<Value, ClusterError> {
    match value {
        Value::ServerError(error) => Err(ClusterError::Server {
            node: node.to_owned(),
            error,
        }),
        value => Ok(value),
    }
}

/// Errors a replica gives when it cannot serve reads right now.
fn replica_unready(error: &redis::ServerError) -> bool {
    matches!(error.code(), "LOADING" | "MASTERDOWN")
}

/// One split sub-command: the command name, then each key (tag stripped) with the arguments
/// that belong to it (MSET's value).
fn pack_keys<A: AsRef<[u8]>>(args: &[A], positions: &[usize], unit: usize) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::with_capacity(1 + positions.len() * unit);
    parts.push(args[0].as_ref());
    for &at in positions {
        parts.push(split_tag(args[at].as_ref()).stored);
        parts.extend(args[at + 1..at + unit].iter().map(AsRef::as_ref));
    }
    let mut packed = Vec::new();
    pack_command(&parts, &[], &mut packed);
    packed
}

/// A split write that failed on some masters after others applied their part is reported as
/// `ClusterError::Partial`, naming both sides.
fn check_all_applied<A: AsRef<[u8]>>(
    args: &[A],
    replies: &[(&str, Result<Value, ClusterError>)],
) -> Result<(), ClusterError> {
    let mut failed = Vec::new();
    let mut applied = Vec::new();
    for (node, reply) in replies.iter() {
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
        command: String::from_utf8_lossy(args[0].as_ref()).to_ascii_lowercase(),
        failed,
        applied,
    })
}

/// MGET's answer: every master's values put back at their keys' places in the caller's list.
fn in_key_order(
    replies: Vec<(&str, Result<Value, ClusterError>)>,
    groups: &[SplitGroup],
    unit: usize,
) -> Result<Value, ClusterError> {
    let first = groups
        .iter()
        .flat_map(|g| g.positions.first())
        .min()
        .copied()
        .unwrap_or(1);
    let count: usize = groups.iter().map(|g| g.positions.len()).sum();
    let mut values = vec![Value::Nil; count];
    for ((node, reply), group) in replies.into_iter().zip(groups) {
        let items = match error_reply_as_err(node, reply?)? {
            Value::Array(items) if items.len() == group.positions.len() => items,
            other => return Err(unexpected(node, "one value per key", &other)),
        };
        for (at, value) in group.positions.iter().zip(items) {
            values[(at - first) / unit] = value;
        }
    }
    Ok(Value::Array(values))
}

/// Combines the replies of every master. A node that could not be reached fails the whole
/// call (naming it): a partial answer would look like a complete one.
fn merge_replies(
    merge: Merge,
    replies: Vec<(&str, Result<Value, ClusterError>)>,
) -> Result<Value, ClusterError> {
    let mut values = Vec::with_capacity(replies.len());
    for (node, reply) in replies {
        values.push((node, reply?));
    }
    if merge == Merge::AnyOk {
        return merge_any_ok(values);
    }
    if merge != Merge::PerNode {
        // Only a per-node map can show which node said what; anything merged fails on the
        // first error reply instead of hiding it.
        if let Some((node, Value::ServerError(error))) = values
            .iter()
            .find(|(_, v)| matches!(v, Value::ServerError(_)))
        {
            return Err(ClusterError::Server {
                node: (*node).to_owned(),
                error: error.clone(),
            });
        }
    }
    match merge {
        Merge::PerNode => Ok(Value::Map(
            values
                .into_iter()
                .map(|(node, value)| (Value::BulkString(node.as_bytes().to_vec()), value))
                .collect(),
        )),
        Merge::Sum => {
            let mut total: i64 = 0;
            for (node, value) in values {
                match value {
                    Value::Int(n) => total += n,
                    other => return Err(unexpected(node, "an integer", &other)),
                }
            }
            Ok(Value::Int(total))
        }
        Merge::Concat => {
            let mut all = Vec::new();
            for (node, value) in values {
                match value {
                    Value::Array(items) | Value::Set(items) => all.extend(items),
                    other => return Err(unexpected(node, "an array", &other)),
                }
            }
            Ok(Value::Array(all))
        }
        Merge::Lines => {
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
        Merge::Min => {
            let mut least: Option<i64> = None;
            for (node, value) in values {
                match value {
                    Value::Int(n) => least = Some(least.map_or(n, |m| m.min(n))),
                    other => return Err(unexpected(node, "an integer", &other)),
                }
            }
            Ok(least.map_or(Value::Nil, Value::Int))
        }
        Merge::AnyOk => unreachable!("merged above"),
        Merge::AllOk => {
            for (node, value) in &values {
                if !matches!(value, Value::Okay) {
                    return Err(unexpected(node, "OK", value));
                }
            }
            Ok(Value::Okay)
        }
        Merge::Same => {
            let (first_node, first) = &values[0];
            match values.iter().find(|(_, v)| v != first) {
                None => Ok(first.clone()),
                Some((node, other)) => Err(ClusterError::Command(format!(
                    "ERR the masters disagree: {first_node} answered {first:?}, {node} answered {other:?}"
                ))),
            }
        }
        Merge::Random => {
            let found: Vec<Value> = values
                .into_iter()
                .map(|(_, v)| v)
                .filter(|v| *v != Value::Nil)
                .collect();
            Ok(match found.len() {
                0 => Value::Nil,
                n => found
                    .into_iter()
                    .nth(random_below(n))
                    .expect("index below len"),
            })
        }
        Merge::KeyOrder | Merge::Cursor => Err(ClusterError::Command(
            "ERR key-ordered and cursor replies are not merged from a fan-out".to_owned(),
        )),
    }
}

/// Pops from the first non-empty of several keys answer `[key, ...]`. Sent with tags stripped,
/// the server names the stored key; the caller gets the key as they wrote it (`queue{user1}`),
/// since several tagged keys may share one stored name.
fn caller_key_name<A: AsRef<[u8]>>(
    args: &[A],
    stored_keys: &[(usize, &[u8])],
    reply: Value,
) -> Value {
    const NAME_THE_KEY: [&[u8]; 8] = [
        b"BLPOP",
        b"BRPOP",
        b"BZPOPMIN",
        b"BZPOPMAX",
        b"LMPOP",
        b"ZMPOP",
        b"BLMPOP",
        b"BZMPOP",
    ];
    if stored_keys.is_empty()
        || !NAME_THE_KEY
            .iter()
            .any(|name| name.eq_ignore_ascii_case(args[0].as_ref()))
    {
        return reply;
    }
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

/// `Merge::AnyOk`: integers summed; else OK if any node said OK; else the first error.
fn merge_any_ok(values: Vec<(&str, Value)>) -> Result<Value, ClusterError> {
    if values.iter().all(|(_, v)| matches!(v, Value::Int(_))) {
        return Ok(Value::Int(
            values
                .iter()
                .map(|(_, v)| if let Value::Int(n) = v { *n } else { 0 })
                .sum(),
        ));
    }
    if values
        .iter()
        .any(|(_, v)| matches!(v, Value::Okay) || matches!(v, Value::SimpleString(s) if s == "OK"))
    {
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

/// SCAN's `COUNT` hint (10, as Redis, when not given).
fn scan_count<A: AsRef<[u8]>>(args: &[A]) -> usize {
    args.get(2..)
        .unwrap_or_default()
        .chunks_exact(2)
        .find(|pair| pair[0].as_ref().eq_ignore_ascii_case(b"COUNT"))
        .and_then(|pair| std::str::from_utf8(pair[1].as_ref()).ok()?.parse().ok())
        .unwrap_or(10)
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

fn unexpected(node: &str, expected: &str, got: &Value) -> ClusterError {
    ClusterError::Command(format!(
        "ERR {node} answered {got:?} where {expected} was expected"
    ))
}

#[cfg(test)]
mod tests {
    /// One `Cluster` is shared by every thread of a program: it must stay `Send + Sync`.
    #[test]
    fn cluster_and_handles_cross_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<super::Cluster>();
        shared::<crate::ClusterConnection>();
    }
}
