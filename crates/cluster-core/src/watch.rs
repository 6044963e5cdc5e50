//! WATCH: optimistic locking on one master. `Cluster::watch` checks out one connection of the
//! master that owns the watched keys (`NodePool::pin`: no other caller uses it meanwhile) and
//! sends WATCH on it; commands run under the watch, and the transaction that ends it, go on that
//! same connection. They are planned, packed and settled by the code that runs
//! `Cluster::transaction` (`pipeline::OneConnection`), so a transaction answers the same shapes
//! with or without WATCH, plus `Value::Nil` when EXEC aborted because a watched key changed.
//!
//! In a reshard's online window the watched keys are first moved to their new master if they
//! are still on their old one (as every write moves the keys it names first, `executor/pull.rs`):
//! the watch, its reads and its transaction all act where every write does.

use std::sync::Arc;

use redis::Value;

use crate::commands::display_name;
use crate::error::ClusterError;
use crate::executor::Executor;
use crate::merge::error_reply_as_err;
use crate::node::pool::{NodePool, Pinned};
use crate::pipeline::OneConnection;
use crate::placement::PlacedKey;
use crate::transaction_per_node;
use crate::wire::request::pack_command;

/// Keys watched on one master's connection, held until `transaction` or `unwatch`. The held
/// connection keeps the client's settings (db, name, ...) as they were when the watch began.
///
/// Dropped without either, the held connection is closed, not given back to the pool: the
/// server then forgets the watched keys with the connection, so no later caller can inherit a
/// stale WATCH (which would abort its transaction). Sending UNWATCH from `drop` instead would
/// keep the socket, but it is a round trip inside a destructor (a server that stopped answering
/// would hold the dropping thread for the whole read timeout, and during a panic or a garbage
/// collection nobody could hear of the failure), and a connection whose UNWATCH failed would
/// have to be closed anyway. A drop is the abandoned path (an error, a panic, a binding's object
/// collected): reconnecting once later is cheaper than any of that. The ordinary ends,
/// `transaction` and `unwatch`, give the connection back.
pub struct Watch {
    executor: Arc<Executor>,
    shard: usize,
    /// The node the connection was pinned from (on a Redis Cluster the slot may move
    /// meanwhile: the connection still goes back where it came from).
    node: usize,
    /// `None` once an exchange broke: the connection's state was unknown, so it was closed
    /// (and the watch with it).
    pinned: Option<Pinned>,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("node", &self.node())
            .field("connected", &self.pinned.is_some())
            .finish()
    }
}

impl Watch {
    /// Checks out a connection of the master that owns all `keys` and sends WATCH on it. Keys
    /// on several masters (or none) are an error before anything is sent, naming the nodes.
    pub(crate) fn start<A: AsRef<[u8]>>(
        executor: &Arc<Executor>,
        keys: &[A],
    ) -> Result<Watch, ClusterError> {
        let (shard, packed) = pack_watch(executor, keys, None)?;
        pull_watched(executor, keys)?;
        let mut attempt = 0;
        loop {
            let node = executor.topology().node_of(shard);
            let mut watch = Watch {
                pinned: Some(executor.node(node).master.pin()?),
                executor: Arc::clone(executor),
                shard,
                node,
            };
            // On failure the watch is dropped, and its connection closed with it.
            let reply = watch.exchange(&packed, 1)?.pop().expect("one reply");
            // A Redis Cluster's slot that moved: WATCH again where it is now.
            if executor.learn_redirect(&reply, attempt) {
                attempt += 1;
                continue;
            }
            error_reply_as_err(watch.node(), reply)?;
            return Ok(watch);
        }
    }

    /// The name of the master holding the watch (`node_k`).
    pub fn node(&self) -> &str {
        self.executor.node(self.node).master.name()
    }

    /// Watches more keys on the same connection; keys of another master are an error before
    /// anything is sent (the watch goes on).
    pub fn watch_more<A: AsRef<[u8]>>(&mut self, keys: &[A]) -> Result<(), ClusterError> {
        let (_, packed) = pack_watch(&self.executor, keys, Some(self.shard))?;
        pull_watched(&self.executor, keys)?;
        self.expect_ok(&packed)
    }

    /// Runs one command on the held connection and returns its reply (an error reply is
    /// `ClusterError::Server`, as with `Cluster::execute`). Its keys must be on the watched
    /// master (keyless commands run there too); a server-wide command, a connection setting,
    /// and MULTI/EXEC/WATCH/UNWATCH (this API's own job) are refused, nothing sent.
    pub fn execute<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<Value, ClusterError> {
        let queued = OneConnection::plan(
            &self.executor,
            std::iter::once(args),
            Some(self.shard),
            &display_name(args),
        )?;
        self.executor.pull_before_writes(std::iter::once(args))?;
        let (packed, count) = queued.pack();
        let replies = self.exchange(&packed, count)?;
        let value = queued
            .settle(&self.executor, replies)
            .pop()
            .expect("one reply per command");
        error_reply_as_err(self.node(), value)
    }

    /// Runs `commands` in MULTI/EXEC on the held connection and answers as
    /// `Cluster::transaction` does, or `Value::Nil` when EXEC aborted because a watched key
    /// changed (nothing was applied). EXEC ends the watch: the connection goes back to the
    /// pool. Keys off the watched master, or what cannot run in a transaction, are an error
    /// before MULTI is sent; the watch then ends with UNWATCH.
    pub fn transaction<A: AsRef<[u8]>>(
        mut self,
        commands: &[Vec<A>],
    ) -> Result<Value, ClusterError> {
        let executor = Arc::clone(&self.executor);
        executor.pull_before_writes(commands.iter().map(Vec::as_slice))?;
        let queued = match OneConnection::plan(
            &executor,
            commands.iter().map(Vec::as_slice),
            Some(self.shard),
            "multi",
        ) {
            Ok(queued) => queued,
            // Commands on other masters too, and the config allows one MULTI/EXEC per master:
            // this master's runs on the held connection and decides first (see
            // `transaction_per_node.rs`).
            Err(ClusterError::CrossNode { .. }) if executor.per_node_transactions() => {
                let Some(pinned) = self.pinned.take() else {
                    return Err(connection_lost(self.pool()));
                };
                return transaction_per_node::run(&executor, commands, Some((self.shard, pinned)));
            }
            Err(error) => {
                // Not for the caller: the planning error is the one to report.
                let _ = self.unwatch();
                return Err(error);
            }
        };
        let (packed, count) = queued.pack_transaction();
        let replies = self.exchange(&packed, count);
        if replies.is_ok() {
            // EXEC unwatches whatever it answers (applied, aborted, or EXECABORT).
            self.release();
        }
        queued.settle_exec(&executor, replies)
    }

    /// Ends the watch without a transaction (UNWATCH); the connection goes back to the pool.
    pub fn unwatch(mut self) -> Result<(), ClusterError> {
        let mut packed = Vec::new();
        pack_command(&["UNWATCH"], &[], &mut packed);
        self.expect_ok(&packed)?;
        self.release();
        Ok(())
    }

    fn pool(&self) -> &NodePool {
        &self.executor.node(self.node).master
    }

    /// Sends one packed command whose reply should be OK; an error reply is the error.
    fn expect_ok(&mut self, packed: &[u8]) -> Result<(), ClusterError> {
        let reply = self.exchange(packed, 1)?.pop().expect("one reply");
        error_reply_as_err(self.node(), reply).map(drop)
    }

    /// Writes `packed` on the held connection and reads `count` replies. When the exchange
    /// breaks, the connection is closed (its state, the watch included, is unknown).
    fn exchange(&mut self, packed: &[u8], count: usize) -> Result<Vec<Value>, ClusterError> {
        let executor = Arc::clone(&self.executor);
        let pool = &executor.node(self.node).master;
        let Some(pinned) = self.pinned.as_mut() else {
            return Err(connection_lost(pool));
        };
        pinned.exchange(pool, packed, count).inspect_err(|_| {
            self.pinned = None;
        })
    }

    /// The connection back to the pool, for any caller: only once it watches nothing.
    fn release(&mut self) {
        if let Some(pinned) = self.pinned.take() {
            pinned.release(self.pool());
        }
    }
}

/// The error of a watch whose connection broke earlier.
fn connection_lost(pool: &NodePool) -> ClusterError {
    ClusterError::from_redis(
        pool.name(),
        &pool.config().addr(),
        std::io::Error::new(
            std::io::ErrorKind::NotConnected,
            "the connection holding the WATCH broke: the watch is over, start again",
        )
        .into(),
    )
}

/// In the online window, moves the keys about to be watched to their new master first (see
/// `executor/pull.rs`): every write after that acts there, where the watch sees it.
fn pull_watched<A: AsRef<[u8]>>(executor: &Executor, keys: &[A]) -> Result<(), ClusterError> {
    let watch: Vec<&[u8]> = std::iter::once(&b"WATCH"[..])
        .chain(keys.iter().map(AsRef::as_ref))
        .collect();
    executor.pull_before_writes(std::iter::once(watch.as_slice()))
}

/// WATCH with every key's stored name (tags stripped), and the master all `keys` are on (with
/// `held`, it must be that one). No key, or keys on several masters: an error.
fn pack_watch<A: AsRef<[u8]>>(
    executor: &Executor,
    keys: &[A],
    held: Option<usize>,
) -> Result<(usize, Vec<u8>), ClusterError> {
    if keys.is_empty() {
        return Err(ClusterError::Command(
            "ERR wrong number of arguments for 'watch' command".to_owned(),
        ));
    }
    let masters = executor.unit_count();
    let placed: Vec<PlacedKey<'_>> = keys
        .iter()
        .map(|key| executor.placement().place(key.as_ref(), masters))
        .collect();
    let mut nodes: Vec<usize> = placed.iter().map(|key| key.shard).chain(held).collect();
    nodes.sort_unstable();
    nodes.dedup();
    if nodes.len() > 1 {
        return Err(ClusterError::CrossNode {
            command: "watch".to_owned(),
            nodes: nodes.into_iter().map(|u| executor.unit_name(u)).collect(),
            reason: "WATCH holds one connection to one server, so the watched keys must share a node: give them a common hash tag (a{t}, b{t})",
        });
    }
    let mut args: Vec<&[u8]> = Vec::with_capacity(keys.len() + 1);
    args.push(b"WATCH");
    args.extend(placed.iter().map(|key| key.stored));
    let mut packed = Vec::new();
    pack_command(&args, &[], &mut packed);
    Ok((nodes[0], packed))
}
