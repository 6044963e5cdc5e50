//! The executor: the engine's I/O primitives over the topology. One command on one shard (a
//! replica for reads when one is usable, the master when it fails), a command split over
//! several masters, one command on every master, and batches of packed commands per master,
//! every master's part written before any reply is read so the masters work at the same time.
//! The online window's reads are in `window.rs`. What to run where is decided above (the
//! router plans, `dispatch` picks the primitive); nothing here knows a command by name.

pub mod batches;
pub mod eager;
pub mod window;

use std::sync::Arc;

use redis::Value;

use crate::config::{ClusterConfig, CrossNodeTransactions};
use crate::error::ClusterError;
use crate::health::Health;
use crate::node::pool::{InFlight, NodePool};
use crate::placement::Placement;
use crate::router::{self, Plan, SplitGroup};
use crate::topology::{Replica, Shard, Topology};
use crate::wire::items::Item;
use crate::wire::request::pack_command;
use batches::{Batch, MasterBatches};

pub struct Executor {
    topology: Arc<Topology>,
    health: Health,
}

/// Each master's reply to its part of a split or fanned-out command, by master name.
pub type NodeReplies<'a> = Vec<(&'a str, Result<Value, ClusterError>)>;

impl Executor {
    /// Pools for every server of a validated config (nothing connected yet), and the replica
    /// checks (in the background, unless reads go to masters only).
    pub fn new(config: &ClusterConfig) -> Executor {
        let topology = Arc::new(Topology::new(config));
        let health = Health::start(&topology);
        Executor { topology, health }
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// How the config places keys.
    pub fn placement(&self) -> &Placement {
        &self.topology.config.placement
    }

    pub fn master_count(&self) -> usize {
        self.topology.shards.len()
    }

    pub fn master(&self, shard: usize) -> &NodePool {
        &self.topology.shards[shard].master
    }

    pub fn master_name(&self, shard: usize) -> &str {
        self.master(shard).name()
    }

    /// Whether a transaction over several masters runs as one MULTI/EXEC per master (the
    /// config's `cross_node_transactions: "per_node"`) rather than being refused.
    pub fn per_node_transactions(&self) -> bool {
        self.topology.config.cross_node_transactions == CrossNodeTransactions::PerNode
    }

    /// Where `args` runs outside a transaction: placed by the config's placement, and a script
    /// that declares no key on every master when the config's `keyless_scripts` says so.
    pub fn plan<'a, A: AsRef<[u8]>>(&self, args: &'a [A]) -> Result<Plan<'a>, ClusterError> {
        let planned = router::plan(args, self.placement(), self.master_count())?;
        Ok(router::with_keyless_scripts(
            planned,
            args,
            self.topology.config.keyless_scripts,
        ))
    }

    /// Checks the replicas now (see `Health::check`).
    pub fn check_replicas(&self) -> Result<(), ClusterError> {
        self.health.check(&self.topology)
    }

    /// Waits for the first replica check (see `Health::wait_checked`).
    pub fn wait_replicas_checked(&self, timeout: std::time::Duration) -> bool {
        self.health.wait_checked(timeout)
    }

    /// The database the connections to master `shard` are in now.
    pub fn current_db(&self, shard: usize) -> i64 {
        let (_, state) = self.topology.session.snapshot();
        state
            .db
            .unwrap_or(self.topology.shards[shard].master.config().db)
    }

    /// Closes every idle pooled connection; the next call connects again.
    pub fn disconnect(&self) {
        self.topology.shards.iter().for_each(Shard::disconnect);
        self.topology.previous.iter().for_each(NodePool::disconnect);
    }

    /// One connection of every master takes the client's settings now (see `node/session.rs`);
    /// the first master that refuses them is the error.
    pub fn refresh_masters(&self) -> Result<(), ClusterError> {
        self.topology
            .shards
            .iter()
            .try_for_each(|shard| shard.master.refresh())
    }

    /// One packed command for one shard. A read goes to a usable replica unless reads go to
    /// masters only; a replica that fails (unreachable, timed out, loading, lost its master)
    /// is rested and the master answers instead. An error reply from the server is a
    /// `Value::ServerError`, not an `Err`.
    pub fn single(&self, shard: usize, packed: &[u8], read: bool) -> Result<Value, ClusterError> {
        let shard = &self.topology.shards[shard];
        if read
            && !self.topology.config.masters_only
            && let Some(replica) = shard.pick_replica()
        {
            let reply = replica.pool.query(packed);
            return self.replica_or_master(shard, &replica, reply, packed);
        }
        ask_master(shard, packed, read)
    }

    /// One packed command on a shard's master (see `ask_master` for the one retry a read gets).
    pub fn on_master(
        &self,
        shard: usize,
        packed: &[u8],
        read: bool,
    ) -> Result<Value, ClusterError> {
        ask_master(&self.topology.shards[shard], packed, read)
    }

    /// A command over independent keys on several masters: every master's part (the command
    /// name, then each of its keys, tag stripped, with the arguments that belong to it) is
    /// written before any reply is read. Reads go to replicas like single-key reads. One reply
    /// per group, in the groups' order.
    pub fn split<A: AsRef<[u8]>>(
        &self,
        args: &[A],
        read: bool,
        unit: usize,
        groups: &[SplitGroup],
    ) -> NodeReplies<'_> {
        let packed = pack_groups(self.placement(), args, unit, groups);
        let replicas = self.replicas_for(read, groups);
        let sent = self.send_groups(groups, &replicas, &packed);
        let mut replies = Vec::with_capacity(groups.len());
        for (((group, replica), sent), packed) in
            groups.iter().zip(&replicas).zip(sent).zip(&packed)
        {
            let shard = &self.topology.shards[group.shard];
            let received = sent.and_then(|flight| flight.receive());
            let reply = match replica {
                Some(replica) => self.replica_or_master(shard, replica, received, packed),
                None => received,
            };
            replies.push((shard.master.name(), reply));
        }
        replies
    }

    /// `split` for a command that answers one element per key (MGET): each master's elements
    /// are handed to `visit` (the group's index, the element's index in the group) as they are
    /// read, with no `Value` built for them (see `wire::items`). Per group: `None` when its
    /// elements were visited, else the reply that came instead (an error reply), or the
    /// failure. A replica that fails is replaced by the master, as in `split`; its elements may
    /// then be visited twice, the master's last.
    pub fn split_items<A: AsRef<[u8]>>(
        &self,
        args: &[A],
        read: bool,
        unit: usize,
        groups: &[SplitGroup],
        visit: &mut dyn FnMut(usize, usize, Item<'_>),
    ) -> Vec<(&str, Result<Option<Value>, ClusterError>)> {
        let packed = pack_groups(self.placement(), args, unit, groups);
        let replicas = self.replicas_for(read, groups);
        let sent = self.send_groups(groups, &replicas, &packed);
        let mut replies = Vec::with_capacity(groups.len());
        for (index, (((group, replica), sent), packed)) in groups
            .iter()
            .zip(&replicas)
            .zip(sent)
            .zip(&packed)
            .enumerate()
        {
            let shard = &self.topology.shards[group.shard];
            let expected = group.positions.len();
            let mut visit_group = |at: usize, item: Item<'_>| visit(index, at, item);
            let received = sent.and_then(|flight| flight.receive_items(expected, &mut visit_group));
            let replica_failed = match &received {
                Ok(Some(Value::ServerError(e))) => replica_unready(e),
                Ok(_) => false,
                // The caller's signal handler ended the wait: nothing wrong with the replica.
                Err(ClusterError::Interrupted { .. }) => false,
                Err(_) => true,
            };
            let reply = match replica {
                Some(replica) if replica_failed => {
                    self.rest_replica(replica);
                    master_items(shard, packed, expected, &mut visit_group)
                }
                _ => received,
            };
            replies.push((shard.master.name(), reply));
        }
        replies
    }

    /// For each group, the replica that serves it when it reads and reads may go to replicas
    /// (one usable right now), else `None`: its master.
    fn replicas_for(&self, read: bool, groups: &[SplitGroup]) -> Vec<Option<Arc<Replica>>> {
        let to_replicas = read && !self.topology.config.masters_only;
        groups
            .iter()
            .map(|group| match to_replicas {
                true => self.topology.shards[group.shard].pick_replica(),
                false => None,
            })
            .collect()
    }

    /// Writes every group's packed part to its replica (see `replicas_for`) or master, before
    /// any reply is read.
    fn send_groups<'a>(
        &'a self,
        groups: &[SplitGroup],
        replicas: &'a [Option<Arc<Replica>>],
        packed: &[Vec<u8>],
    ) -> Vec<Result<InFlight<'a>, ClusterError>> {
        groups
            .iter()
            .zip(replicas)
            .zip(packed)
            .map(|((group, replica), packed)| match replica {
                Some(replica) => replica.pool.send(packed),
                None => self.topology.shards[group.shard].master.send(packed),
            })
            .collect()
    }

    /// Writes the command to every master, then reads every reply: the masters work at the
    /// same time, and the call takes as long as the slowest, not the sum.
    pub fn scatter(&self, packed: &[u8]) -> NodeReplies<'_> {
        let shards = &self.topology.shards;
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

    /// Runs packed commands on their masters: every master's commands written in one go, all
    /// masters before any reply is read; each command's reply in the caller's order. A master
    /// that fails fails each of its commands, in place.
    pub fn run_batches(&self, batches: MasterBatches) -> Vec<Result<Value, ClusterError>> {
        exchange(batches, |shard| &self.topology.shards[shard].master)
    }

    /// Runs commands on masters (`(master index, arguments)`), every master's batch written in
    /// one go before any reply is read; the replies in the caller's order, error replies as
    /// values; the first master that failed is the error. The emulations write through this,
    /// on masters only: what they write must be computed from current data, not from a
    /// replica that may lag (they read through `read_keys`, which honours the online window).
    pub fn run_on_masters(
        &self,
        commands: &[(usize, Vec<&[u8]>)],
    ) -> Result<Vec<Value>, ClusterError> {
        let mut batches = MasterBatches::default();
        for (shard, args) in commands {
            pack_command(args, &[], batches.next_for(*shard));
        }
        self.run_batches(batches).into_iter().collect()
    }

    /// A replica's reply, or, when the replica failed or cannot serve reads right now, the
    /// master's (the replica is rested for a while, and the replicas are checked again soon).
    fn replica_or_master(
        &self,
        shard: &Shard,
        replica: &Replica,
        reply: Result<Value, ClusterError>,
        packed: &[u8],
    ) -> Result<Value, ClusterError> {
        match reply {
            Ok(Value::ServerError(e)) if replica_unready(&e) => {}
            Ok(value) => return Ok(value),
            // The caller's signal handler ended the wait: nothing wrong with the replica.
            Err(interrupted @ ClusterError::Interrupted { .. }) => return Err(interrupted),
            Err(_) => {}
        }
        self.rest_replica(replica);
        ask_master(shard, packed, true)
    }

    /// A replica that failed rests for a while, and the replicas are checked again soon.
    fn rest_replica(&self, replica: &Replica) {
        replica.mark_down();
        self.health.check_soon();
    }
}

/// Writes every batch to the pool `pool_of` gives for its index, then reads every reply.
fn exchange<'p>(
    batches: MasterBatches,
    pool_of: impl Fn(usize) -> &'p NodePool,
) -> Vec<Result<Value, ClusterError>> {
    let count = batches.len();
    let batches = batches.into_batches();
    let sent: Vec<_> = batches
        .iter()
        .map(|batch| pool_of(batch.shard).send(&batch.packed))
        .collect();
    gather(count, &batches, sent)
}

/// Reads every batch's replies (`count` in all) from the connection it went out on (`sent[i]`
/// for `batches[i]`), each to its command's place in the caller's order. A master that failed
/// fails each of its commands, in place.
fn gather(
    count: usize,
    batches: &[Batch],
    sent: Vec<Result<InFlight<'_>, ClusterError>>,
) -> Vec<Result<Value, ClusterError>> {
    let mut replies: Vec<Result<Value, ClusterError>> =
        (0..count).map(|_| Ok(Value::Nil)).collect();
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

/// `ask_master` for a reply read element by element (see `Executor::split_items`): a read,
/// so a broken connection is tried once more.
fn master_items(
    shard: &Shard,
    packed: &[u8],
    expected: usize,
    visit: &mut dyn FnMut(usize, Item<'_>),
) -> Result<Option<Value>, ClusterError> {
    let mut ask = || {
        shard
            .master
            .send(packed)
            .and_then(|flight| flight.receive_items(expected, &mut *visit))
    };
    match ask() {
        Err(ClusterError::Connection { .. }) => ask(),
        other => other,
    }
}

/// Every group's sub-command of a split command, packed (see `pack_keys`).
fn pack_groups<A: AsRef<[u8]>>(
    placement: &Placement,
    args: &[A],
    unit: usize,
    groups: &[SplitGroup],
) -> Vec<Vec<u8>> {
    groups
        .iter()
        .map(|group| pack_keys(placement, args, &group.positions, unit))
        .collect()
}

/// Errors a replica gives when it cannot serve reads right now.
fn replica_unready(error: &redis::ServerError) -> bool {
    matches!(error.code(), "LOADING" | "MASTERDOWN")
}

/// One split sub-command: the command name, then each key (under its stored name) with the
/// arguments that belong to it (MSET's value).
pub fn pack_keys<A: AsRef<[u8]>>(
    placement: &Placement,
    args: &[A],
    positions: &[usize],
    unit: usize,
) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::with_capacity(1 + positions.len() * unit);
    parts.push(args[0].as_ref());
    for &at in positions {
        parts.push(placement.split(args[at].as_ref()).stored);
        parts.extend(args[at + 1..at + unit].iter().map(AsRef::as_ref));
    }
    let mut packed = Vec::new();
    pack_command(&parts, &[], &mut packed);
    packed
}
