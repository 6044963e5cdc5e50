//! `Cluster`: the engine's public front. Plans a command (`router`), runs it (`dispatch`,
//! `pipeline`) and answers; shared between threads (`Send + Sync`), cheap to clone. Everything
//! it does is a few lines over the layers below.

use std::sync::Arc;

use redis::Value;

use crate::config::{ClusterConfig, NodeConfig};
use crate::dispatch;
use crate::error::ClusterError;
use crate::executor::Executor;
use crate::merge::error_reply_as_err;
use crate::pipeline;
use crate::placement::Placement;
use crate::pubsub::Subscription;
use crate::topology::Shard;
use crate::transaction_per_node;
use crate::watch::Watch;
use crate::wire::items::Item;
use crate::wire::request::pack_command;

/// A sharded set of Redis masters (and their replicas).
#[derive(Clone)]
pub struct Cluster {
    executor: Arc<Executor>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Addresses only: configs hold passwords (redacted by `Secret`, but keep this short).
        let masters: Vec<String> = self.masters().iter().map(|m| m.addr()).collect();
        f.debug_struct("Cluster")
            .field("masters", &masters)
            .finish()
    }
}

impl Cluster {
    /// Builds the cluster from a validated config, connecting nothing and waiting for nothing.
    /// Unless reads go to masters only, a background thread asks each master for its replicas
    /// (unless `master_of` names them) and each replica for its link and lag, shortly after
    /// (`health::FIRST_CHECK_DELAY`), then every `replica_check_interval` (see `health/`);
    /// until a check has vouched for a replica, its master answers the reads
    /// (`wait_for_replica_check` waits for the first check). A node that cannot be reached
    /// now does not stop the client: its keys fail until it answers.
    pub fn new(config: ClusterConfig) -> Result<Cluster, ClusterError> {
        // A config changed by the Rust builders after parsing is checked again here.
        config.check_previous()?;
        if config.redis_cluster
            && config.cross_node_transactions != crate::config::CrossNodeTransactions::Refuse
        {
            return Err(ClusterError::Config(crate::config::ConfigError::RedisCluster(
                "per-node transactions do not apply: a Redis Cluster runs a transaction in one slot"
                    .to_owned(),
            )));
        }
        Ok(Cluster {
            executor: Arc::new(Executor::new(&config)?),
        })
    }

    /// The same client again, for a forked child process: the same config and connection
    /// settings (SELECT, AUTH, CLIENT SETNAME, ...), but its own connections and background
    /// checks. A child must not use its parent's connections (both processes would read each
    /// other's replies), and must not drop its copy of the parent's client either: a lock that
    /// one of the parent's threads held at the fork stays held in the child. Bindings call
    /// this on a child's first use and leak the inherited client.
    pub fn reopened(&self) -> Result<Cluster, ClusterError> {
        let topology = self.executor.topology();
        let (_, settings) = topology.session.snapshot();
        let cluster = Cluster::new(topology.config.clone())?;
        cluster
            .executor
            .topology()
            .session
            .update(|state| *state = settings);
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

    /// The name of the master a key lands on, placed by the config's placement (routing rules,
    /// then tags: by default `bar{foo}` → foo's node).
    pub fn node_for(&self, key: impl AsRef<[u8]>) -> &str {
        self.node_config_for(key).name.as_str()
    }

    /// The settings of the master a key lands on.
    pub fn node_config_for(&self, key: impl AsRef<[u8]>) -> &NodeConfig {
        let shard = self
            .placement()
            .master_index(key.as_ref(), self.executor.unit_count());
        self.executor.master(shard).config()
    }

    /// Every master's settings, `node_1` first (on a Redis Cluster, the masters of its map
    /// now, named `host:port`).
    pub fn masters(&self) -> Vec<&NodeConfig> {
        let executor = &self.executor;
        let nodes = executor.master_nodes();
        nodes
            .into_iter()
            .map(|node| executor.node(node).master.config())
            .collect()
    }

    /// How keys are placed (`tags`, `routing_rules` in the config).
    pub fn placement(&self) -> &Placement {
        self.executor.placement()
    }

    /// How many masters there are (N in `crc32 % N`; on a Redis Cluster, the masters of its
    /// map now).
    pub fn master_count(&self) -> usize {
        self.executor.master_nodes().len()
    }

    /// The replicas currently known for a master (`node_k`).
    pub fn replicas_of(&self, node: &str) -> Vec<NodeConfig> {
        self.replica_health_of(node)
            .into_iter()
            .map(|(config, _)| config)
            .collect()
    }

    /// May a read be answered by a replica (replica reads on, and some master has one)? A
    /// pipeline's reads go to the masters; a caller that batches single reads into pipelines
    /// (the asyncio client) keeps them apart while this holds.
    pub fn reads_go_to_replicas(&self) -> bool {
        let topology = self.executor.topology();
        !topology.config.masters_only && topology.shards.iter().any(Shard::has_replicas)
    }

    /// The replicas known for a master (`node_k`), each with whether it serves reads now
    /// (its link is up and its lag within `max_replica_lag`).
    pub fn replica_health_of(&self, node: &str) -> Vec<(NodeConfig, bool)> {
        self.shard_named(node)
            .map(Shard::replica_states)
            .unwrap_or_default()
    }

    /// Asks every master for its replicas and every replica for its health now, instead of
    /// waiting for the next background check (after adding or removing one). A replica a few
    /// writes behind serves reads from the next background check on. A master that cannot be
    /// asked is the error; the others are checked anyway.
    pub fn discover_replicas(&self) -> Result<(), ClusterError> {
        let checked = self.executor.check_replicas();
        // Replicas named by `master_of` are not discovered: nothing to report.
        if self.executor.topology().config.explicit_replicas {
            return Ok(());
        }
        checked
    }

    /// Waits until the replicas have been checked once (starting that check now if it has not
    /// started), at most `timeout`; true when they have, or when reads go to masters only.
    /// Until then reads go to the masters, so nothing needs this to be correct; it is for a
    /// caller that wants replica reads from its first read on (a long-lived client, a test).
    pub fn wait_for_replica_check(&self, timeout: std::time::Duration) -> bool {
        self.executor.wait_replicas_checked(timeout)
    }

    /// Closes every idle pooled connection (redis-py's `close()`); the cluster stays usable and
    /// reconnects on the next call.
    pub fn disconnect(&self) {
        self.executor.disconnect();
    }

    /// Runs one command where it belongs and returns its reply; an error reply from the server
    /// is `ClusterError::Server`.
    pub fn execute<A: AsRef<[u8]>>(&self, args: &[A]) -> Result<Value, ClusterError> {
        let (value, node) = self.run(args)?;
        error_reply_as_err(node, value)
    }

    /// Runs one command as `execute` does; when it is a read split over several masters that
    /// answers one element per key (MGET), each element goes to `visit` (its index in the
    /// answer, the element: bulk strings lent from the read buffer) as it is read, and
    /// `Ok(None)` is answered. A binding builds its own strings this way, with no `Value` per
    /// element. Any other command answers `Ok(Some(value))`, as `execute`.
    pub fn execute_items<A: AsRef<[u8]>>(
        &self,
        args: &[A],
        visit: &mut dyn FnMut(usize, Item<'_>),
    ) -> Result<Option<Value>, ClusterError> {
        let planned = self.executor.plan(args)?;
        self.executor.pull_before_writes(std::iter::once(args))?;
        match dispatch::run_items(&self.executor, args, planned, visit)? {
            Some((value, node)) => error_reply_as_err(node, value).map(Some),
            None => Ok(None),
        }
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
                self.master_count()
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
        self.executor
            .scatter(&packed)
            .into_iter()
            .map(|(node, reply)| {
                let reply = reply.and_then(|value| error_reply_as_err(node, value));
                (node.to_owned(), reply)
            })
            .collect()
    }

    /// Runs `commands` as a pipeline: batched per master, in the caller's order per key; one
    /// reply per command (see `pipeline.rs`).
    pub fn pipeline<A: AsRef<[u8]>>(
        &self,
        commands: &[Vec<A>],
    ) -> Result<Vec<Result<Value, ClusterError>>, ClusterError> {
        self.executor
            .pull_before_writes(commands.iter().map(Vec::as_slice))?;
        pipeline::pipeline(&self.executor, commands)
    }

    /// Runs `commands` in MULTI/EXEC on the one master that owns all their keys and answers
    /// EXEC's reply; keys on several masters are refused before anything is sent, unless the
    /// config says `cross_node_transactions: "per_node"`: then one MULTI/EXEC per master runs,
    /// atomic on each master and not across them, and the replies come back in order (see
    /// `transaction_per_node.rs` for what a failure on one master answers).
    pub fn transaction<A: AsRef<[u8]>>(&self, commands: &[Vec<A>]) -> Result<Value, ClusterError> {
        self.executor
            .pull_before_writes(commands.iter().map(Vec::as_slice))?;
        match pipeline::transaction(&self.executor, commands) {
            Err(ClusterError::CrossNode { .. }) if self.executor.per_node_transactions() => {
                transaction_per_node::run(&self.executor, commands, None)
            }
            answer => answer,
        }
    }

    /// Watches `keys` (optimistic locking): checks out one connection of the master that owns
    /// them all and sends WATCH on it. The returned `Watch` holds that connection (no other
    /// caller uses it meanwhile) for commands run under the watch and for the transaction that
    /// ends it (`Value::Nil` when a watched key changed). Keys on several masters are an error
    /// naming the nodes, before anything is sent: give them a common hash tag.
    pub fn watch<A: AsRef<[u8]>>(&self, keys: &[A]) -> Result<Watch, ClusterError> {
        Watch::start(&self.executor, keys)
    }

    /// An optimistic transaction, retried until it applies (redis-py's `transaction()`,
    /// redis-rs's `redis::transaction`): watches `keys`, lets `build` read through the watch
    /// (`Watch::execute`) and return the commands to run in MULTI/EXEC, and runs them on the
    /// held connection. When EXEC aborts because a watched key changed meanwhile, nothing was
    /// applied, and it starts again from WATCH with a fresh read; the answer is the EXEC array
    /// of the attempt that applied. An error (from `build` or the cluster) ends it at once.
    ///
    /// Like redis-py and redis-rs it retries for as long as other writers keep winning: under
    /// heavy contention on one key, bound the work in `build` (it may return an error).
    pub fn transaction_with_watch<A, C, F>(
        &self,
        keys: &[A],
        mut build: F,
    ) -> Result<Value, ClusterError>
    where
        A: AsRef<[u8]>,
        C: AsRef<[u8]>,
        F: FnMut(&mut Watch) -> Result<Vec<Vec<C>>, ClusterError>,
    {
        loop {
            let mut watch = self.watch(keys)?;
            // On an error the watch is dropped, and its connection closed with it.
            let commands = build(&mut watch)?;
            match watch.transaction(&commands)? {
                Value::Nil => continue,
                applied => return Ok(applied),
            }
        }
    }

    /// A new, empty pub/sub subscription over this cluster's masters. On a Redis Cluster a
    /// channel is listened to on the master of its slot (where SSUBSCRIBE must go; a PUBLISH
    /// reaches every node).
    pub fn subscription(&self) -> Subscription {
        let masters: Vec<NodeConfig> = self.masters().into_iter().cloned().collect();
        if !self.placement().is_redis_cluster() {
            return Subscription::new(masters);
        }
        let (cluster, addrs) = (
            self.clone(),
            masters.iter().map(NodeConfig::addr).collect::<Vec<_>>(),
        );
        let home = move |channel: &[u8]| {
            let owner = cluster.node_config_for(channel).addr();
            addrs.iter().position(|a| *a == owner).unwrap_or(0)
        };
        Subscription::with_homes(masters, Arc::new(home))
    }

    /// Plans and runs a command; the reply may be a `Value::ServerError` (kept as a value so
    /// pipelines and the `redis::ConnectionLike` handle report it in place). Also returns the
    /// node that answered, for errors.
    pub(crate) fn run<A: AsRef<[u8]>>(&self, args: &[A]) -> Result<(Value, &str), ClusterError> {
        let planned = self.executor.plan(args)?;
        self.executor.pull_before_writes(std::iter::once(args))?;
        dispatch::run(&self.executor, args, planned)
    }

    fn shard_named(&self, node: &str) -> Option<&Shard> {
        self.executor.topology().shard_named(node)
    }
}

#[cfg(test)]
mod tests {
    /// One `Cluster` is shared by every thread of a program: it must stay `Send + Sync`.
    #[test]
    fn cluster_and_handles_cross_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<super::Cluster>();
        shared::<crate::handle::ClusterConnection>();
        // A binding keeps a `Watch` in an object another thread may use or drop.
        fn sent<T: Send>() {}
        sent::<crate::watch::Watch>();
    }
}
