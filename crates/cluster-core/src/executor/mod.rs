//! The executor: the engine's I/O primitives over the topology. One command on one shard (a
//! replica for reads when one is usable, the master when it fails), a command split over
//! several masters, one command on every master, and batches of packed commands per master,
//! every master's part written before any reply is read so the masters work at the same time.
//! The online window's reads are in `window.rs`. What to run where is decided above (the
//! router plans, `dispatch` picks the primitive); nothing here knows a command by name.

pub mod batches;
pub mod eager;
pub mod progress;
pub mod pull;
pub mod redirect;
pub mod window;

use std::sync::Arc;

use redis::Value;

use crate::config::{ClusterConfig, CrossNodeTransactions};
use crate::error::ClusterError;
use crate::health::Health;
use crate::node::pool::{InFlight, NodePool};
use crate::placement::Placement;
use crate::placement::distribution::SLOTS;
use crate::router::{self, Plan, SplitGroup};
use crate::topology::{Replica, Shard, Topology};
use crate::wire::items::Item;
use crate::wire::request::pack_command;
use batches::{Batch, MasterBatches};
use progress::ProgressPoller;

pub struct Executor {
    topology: Arc<Topology>,
    health: Health,
    /// Reads the move's marks while the window is open (held for its `Drop`).
    _progress: Option<ProgressPoller>,
}

/// Each master's reply to its part of a split or fanned-out command, by master name.
pub type NodeReplies<'a> = Vec<(&'a str, Result<Value, ClusterError>)>;

impl Executor {
    /// Pools for every server of a validated config (nothing connected yet), and the replica
    /// checks (in the background, unless reads go to masters only), and in a reshard's window
    /// the poller of the move's marks (`progress.rs`). On a Redis Cluster the
    /// map is read first, from the first configured node that answers: none is the error.
    pub fn new(config: &ClusterConfig) -> Result<Executor, ClusterError> {
        let topology = Arc::new(Topology::new(config));
        topology.read_map(true)?;
        let health = Health::start(&topology);
        let _progress = ProgressPoller::start(&topology);
        Ok(Executor {
            topology,
            health,
            _progress,
        })
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// How the config places keys.
    pub fn placement(&self) -> &Placement {
        &self.topology.config.placement
    }

    /// How many units keys are placed over: the masters (N in `crc32 % N`), or a Redis
    /// Cluster's slots. The router plans in units; the topology says which node serves each.
    pub fn unit_count(&self) -> usize {
        match self.redirects() {
            true => SLOTS,
            false => self.topology.shards.len(),
        }
    }

    /// The masters now, as node indexes (see `Topology::master_nodes`).
    pub fn master_nodes(&self) -> Vec<usize> {
        self.topology.master_nodes()
    }

    /// A node by index (not a unit).
    pub fn node(&self, node: usize) -> &Shard {
        &self.topology.shards[node]
    }

    /// The master serving a unit.
    pub fn master(&self, unit: usize) -> &NodePool {
        &self.node(self.topology.node_of(unit)).master
    }

    pub fn master_name(&self, unit: usize) -> &str {
        self.master(unit).name()
    }

    /// How errors name a unit: `node_k`, or on a Redis Cluster `slot N (host:port)`.
    pub fn unit_name(&self, unit: usize) -> String {
        match self.redirects() {
            true => format!("slot {unit} ({})", self.master_name(unit)),
            false => self.placement().unit_name(unit),
        }
    }

    /// Whether a transaction over several masters runs as one MULTI/EXEC per master (the
    /// config's `cross_node_transactions: "per_node"`) rather than being refused.
    pub fn per_node_transactions(&self) -> bool {
        self.topology.config.cross_node_transactions == CrossNodeTransactions::PerNode
    }

    /// Where `args` runs outside a transaction: placed by the config's placement, and a script
    /// that declares no key on every master when the config's `keyless_scripts` says so.
    pub fn plan<'a, A: AsRef<[u8]>>(&self, args: &'a [A]) -> Result<Plan<'a>, ClusterError> {
        let planned = router::plan(args, self.placement(), self.unit_count())?;
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

    /// The database the connections to the master of `shard` are in now.
    pub fn current_db(&self, shard: usize) -> i64 {
        let (_, state) = self.topology.session.snapshot();
        state.db.unwrap_or_else(|| self.master(shard).config().db)
    }

    /// Closes every idle pooled connection; the next call connects again.
    pub fn disconnect(&self) {
        self.topology.shards.iter().for_each(Shard::disconnect);
        self.topology.previous.iter().for_each(NodePool::disconnect);
    }

    /// One connection of every master takes the client's settings now (see `node/session.rs`);
    /// the first master that refuses them is the error.
    pub fn refresh_masters(&self) -> Result<(), ClusterError> {
        self.master_nodes()
            .into_iter()
            .try_for_each(|node| self.node(node).master.refresh())
    }

    /// One packed command for one shard. A read goes to a usable replica unless reads go to
    /// masters only; a replica that fails (unreachable, timed out, loading, lost its master)
    /// is rested and the master answers instead. An error reply from the server is a
    /// `Value::ServerError`, not an `Err`.
    pub fn single(&self, unit: usize, packed: &[u8], read: bool) -> Result<Value, ClusterError> {
        let shard = self.node(self.topology.node_of(unit));
        if read
            && !self.topology.config.masters_only
            && let Some(replica) = shard.pick_replica()
        {
            let reply = replica.pool.query(packed);
            return self.replica_or_master(unit, &replica, reply, packed);
        }
        self.on_master(unit, packed, read)
    }

    /// One packed command on the master of a unit (see `ask_pool` for the one retry a read
    /// gets), following a Redis Cluster's redirects.
    pub fn on_master(&self, unit: usize, packed: &[u8], read: bool) -> Result<Value, ClusterError> {
        let reply = ask_pool(self.master(unit), packed, read);
        self.follow(reply, unit, packed, read)
    }

    /// One packed command on a node (by index: SCAN's walk), as is.
    pub fn on_node(&self, node: usize, packed: &[u8], read: bool) -> Result<Value, ClusterError> {
        ask_pool(&self.node(node).master, packed, read)
    }

    /// A command over independent keys on several masters: every master's part (the command
    /// name, then each of its keys, tag stripped, with the arguments that belong to it) is
    /// written before any reply is read. Reads go to replicas like single-key reads. One reply
    /// per group, in the groups' order. On a Redis Cluster a group is a slot, and a node's
    /// slots go out together on one connection.
    pub fn split<A: AsRef<[u8]>>(
        &self,
        args: &[A],
        read: bool,
        unit: usize,
        groups: &[SplitGroup],
    ) -> NodeReplies<'_> {
        let packed = pack_groups(self.placement(), args, unit, groups);
        let replicas = self.replicas_for(read, groups);
        let received = self.exchange_groups(groups, &replicas, &packed, |flight, _| {
            flight.receive_next()
        });
        let mut replies = Vec::with_capacity(groups.len());
        for (((group, replica), received), packed) in
            groups.iter().zip(&replicas).zip(received).zip(&packed)
        {
            let reply = match replica {
                Some(replica) => self.replica_or_master(group.shard, replica, received, packed),
                None => self.follow(received, group.shard, packed, read),
            };
            replies.push((self.master_name(group.shard), reply));
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
        let received = self.exchange_groups(groups, &replicas, &packed, |flight, index| {
            let expected = groups[index].positions.len();
            flight.receive_next_items(expected, &mut |at, item| visit(index, at, item))
        });
        let mut replies = Vec::with_capacity(groups.len());
        for (index, (((group, replica), received), packed)) in groups
            .iter()
            .zip(&replicas)
            .zip(received)
            .zip(&packed)
            .enumerate()
        {
            let shard = self.node(self.topology.node_of(group.shard));
            let expected = group.positions.len();
            let mut visit_group = |at: usize, item: Item<'_>| visit(index, at, item);
            let replica_failed = match &received {
                Ok(Some(Value::ServerError(e))) => replica_unready(e),
                Ok(_) => false,
                // The caller's signal handler ended the wait: nothing wrong with the replica.
                Err(ClusterError::Interrupted { .. }) => false,
                Err(_) => true,
            };
            let redirected = self.redirects()
                && matches!(&received, Ok(Some(value)) if Self::is_redirect(value));
            if replica.is_some() && replica_failed {
                self.rest_replica(replica.as_ref().expect("a replica"));
            }
            let reply = match replica {
                // Read again from the master, following its redirects.
                Some(_) if replica_failed || redirected => {
                    let first =
                        master_items(&shard.master, packed, expected, false, &mut visit_group);
                    self.follow_with(
                        first,
                        self.topology.node_of(group.shard),
                        Some(group.shard),
                        Option::as_ref,
                        |pool, asking| {
                            master_items(pool, packed, expected, asking, &mut visit_group)
                        },
                    )
                }
                Some(_) => received,
                None => self.follow_with(
                    received,
                    self.topology.node_of(group.shard),
                    Some(group.shard),
                    Option::as_ref,
                    |pool, asking| master_items(pool, packed, expected, asking, &mut visit_group),
                ),
            };
            replies.push((self.master_name(group.shard), reply));
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
                true => self.node(self.topology.node_of(group.shard)).pick_replica(),
                false => None,
            })
            .collect()
    }

    /// Writes every group's packed part to its replica (see `replicas_for`) or master, the
    /// groups bound for one server together on one connection, every server before any reply
    /// is read; then reads each group's reply with `receive` (the connection, the group's
    /// index), in the order written. One result per group, in the groups' order; a server that
    /// failed fails each of its groups.
    fn exchange_groups<'a, T>(
        &'a self,
        groups: &[SplitGroup],
        replicas: &'a [Option<Arc<Replica>>],
        packed: &[Vec<u8>],
        mut receive: impl FnMut(&mut InFlight<'a>, usize) -> Result<T, ClusterError>,
    ) -> Vec<Result<T, ClusterError>> {
        // Per server: its pool and the groups bound for it, in the groups' order.
        let mut targets: Vec<(&NodePool, Vec<usize>)> = Vec::new();
        for (index, (group, replica)) in groups.iter().zip(replicas).enumerate() {
            let pool = match replica {
                Some(replica) => &replica.pool,
                None => self.master(group.shard),
            };
            match targets.iter_mut().find(|(p, _)| std::ptr::eq(*p, pool)) {
                Some((_, members)) => members.push(index),
                None => targets.push((pool, vec![index])),
            }
        }
        let sent: Vec<_> = targets
            .iter()
            .map(|(pool, members)| match members.as_slice() {
                [only] => pool.send(&packed[*only]),
                _ => pool.send(
                    &members
                        .iter()
                        .flat_map(|&i| packed[i].iter().copied())
                        .collect::<Vec<u8>>(),
                ),
            })
            .collect();
        let mut results: Vec<Option<Result<T, ClusterError>>> =
            (0..groups.len()).map(|_| None).collect();
        for ((_, members), sent) in targets.iter().zip(sent) {
            match sent {
                Ok(mut flight) => {
                    let mut failed = None;
                    for &index in members {
                        let result = match &failed {
                            Some(error) => Err(Clone::clone(error)),
                            None => receive(&mut flight, index),
                        };
                        if let Err(error) = &result {
                            failed.get_or_insert_with(|| error.clone());
                        }
                        results[index] = Some(result);
                    }
                    // After a failure the connection's state is unknown: dropped, not returned.
                    if failed.is_none() {
                        flight.finish();
                    }
                }
                Err(error) => members
                    .iter()
                    .for_each(|&index| results[index] = Some(Err(error.clone()))),
            }
        }
        results
            .into_iter()
            .map(|r| r.expect("every group was read"))
            .collect()
    }

    /// Writes the command to every master, then reads every reply: the masters work at the
    /// same time, and the call takes as long as the slowest, not the sum.
    pub fn scatter(&self, packed: &[u8]) -> NodeReplies<'_> {
        let shards: Vec<&Shard> = self
            .master_nodes()
            .into_iter()
            .map(|n| self.node(n))
            .collect();
        let sent: Vec<_> = shards.iter().map(|s| s.master.send(packed)).collect();
        shards
            .into_iter()
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
        let count = batches.len();
        let batches = batches.into_batches();
        let sent = self.send_to_masters(&batches);
        let mut replies = gather(count, &batches, sent);
        self.follow_batches(&batches, &mut replies);
        replies
    }

    /// Writes every batch to its node's master, without reading a reply.
    fn send_to_masters(&self, batches: &[Batch]) -> Vec<Result<InFlight<'_>, ClusterError>> {
        batches
            .iter()
            .map(|batch| self.node(batch.shard).master.send(&batch.packed))
            .collect()
    }

    /// Runs commands on masters (`(master index, arguments)`), every master's batch written in
    /// one go before any reply is read; the replies in the caller's order, error replies as
    /// values; the first master that failed is the error. The emulations write through this,
    /// on masters only: what they write must be computed from current data, not from a
    /// replica that may lag (they read through `read_keys`, which honours the online window).
    ///
    /// On a Redis Cluster a batch that is one MULTI/EXEC whose commands a node refused to queue
    /// (their slot moved: EXEC aborted, nothing applied) runs again, whole, where the slot is.
    pub fn run_on_masters(
        &self,
        commands: &[(usize, Vec<&[u8]>)],
    ) -> Result<Vec<Value>, ClusterError> {
        let mut attempt = 0;
        loop {
            let mut batches = MasterBatches::default();
            for (unit, args) in commands {
                pack_command(args, &[], batches.next_for(self.topology.node_of(*unit)));
            }
            let replies: Vec<Value> = self
                .run_batches(batches)
                .into_iter()
                .collect::<Result<_, _>>()?;
            match Self::aborted_transaction(commands, &replies) {
                Some(reply) if self.learn_redirect(reply, attempt) => attempt += 1,
                _ => return Ok(replies),
            }
        }
    }

    /// A replica's reply, or, when the replica failed or cannot serve reads right now, the
    /// master's (the replica is rested for a while, and the replicas are checked again soon).
    /// A Redis Cluster replica's redirect (its master no longer serves the slot) sends the
    /// read to the slot's master, without resting the replica.
    fn replica_or_master(
        &self,
        unit: usize,
        replica: &Replica,
        reply: Result<Value, ClusterError>,
        packed: &[u8],
    ) -> Result<Value, ClusterError> {
        match reply {
            Ok(Value::ServerError(e)) if replica_unready(&e) => {}
            Ok(value) if self.redirects() && Self::is_redirect(&value) => {
                return self.on_master(unit, packed, true);
            }
            Ok(value) => return Ok(value),
            // The caller's signal handler ended the wait: nothing wrong with the replica.
            Err(interrupted @ ClusterError::Interrupted { .. }) => return Err(interrupted),
            Err(_) => {}
        }
        self.rest_replica(replica);
        self.on_master(unit, packed, true)
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

/// Sends to a master. A read whose connection broke is sent once more on a fresh
/// connection (an idle one can be stale after a server restart); a write never is, since the
/// first attempt may have been applied, and neither is a timeout, which would only double the
/// wait.
fn ask_pool(pool: &NodePool, packed: &[u8], is_read: bool) -> Result<Value, ClusterError> {
    match pool.query(packed) {
        Err(ClusterError::Connection { .. }) if is_read => pool.query(packed),
        other => other,
    }
}

/// `ask_pool` for a reply read element by element (see `Executor::split_items`): a read,
/// so a broken connection is tried once more. `asking`: after `ASKING` (a Redis Cluster's
/// `ASK` redirect), whose own reply is skipped.
fn master_items(
    pool: &NodePool,
    packed: &[u8],
    expected: usize,
    asking: bool,
    visit: &mut dyn FnMut(usize, Item<'_>),
) -> Result<Option<Value>, ClusterError> {
    let mut ask = || {
        let mut flight = match asking {
            false => pool.send(packed)?,
            true => {
                let mut flight = pool.send(&after_asking(packed))?;
                flight.receive_next()?;
                flight
            }
        };
        let reply = flight.receive_next_items(expected, &mut *visit)?;
        flight.finish();
        Ok(reply)
    };
    match ask() {
        Err(ClusterError::Connection { .. }) => ask(),
        other => other,
    }
}

/// `ASKING` (a Redis Cluster's `ASK` redirect), then the packed command, in one write.
fn after_asking(packed: &[u8]) -> Vec<u8> {
    let mut both = Vec::with_capacity(packed.len() + 20);
    pack_command(&[b"ASKING"], &[], &mut both);
    both.extend_from_slice(packed);
    both
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
