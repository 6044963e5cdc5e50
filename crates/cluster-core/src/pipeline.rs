//! Pipelines and transactions over the cluster.

use redis::Value;

use crate::batches::MasterBatches;
use crate::cluster::Cluster;
use crate::error::ClusterError;
use crate::placement::node_name;
use crate::resp::pack_command;
use crate::router::{DEFAULT_SHARD, Plan, plan};

impl Cluster {
    /// Runs `commands` as a pipeline. Every command is planned first, so a malformed one stops
    /// the pipeline with nothing sent. Consecutive single-node commands are batched per master
    /// and every master's batch is written before any reply is read; a command over several
    /// nodes (split, fan-out, emulated) runs at its place in the sequence, so each key sees the
    /// commands in the caller's order. One reply per command, in order: `Ok(value)` (an error
    /// reply stays a `Value::ServerError`, as in a redis-rs pipeline) or the failure of that
    /// command's node. Reads go to masters: a pipeline reads its own writes.
    pub fn pipeline<A: AsRef<[u8]>>(
        &self,
        commands: &[Vec<A>],
    ) -> Result<Vec<Result<Value, ClusterError>>, ClusterError> {
        let masters = self.master_count();
        let plans = commands
            .iter()
            .map(|args| plan(args, masters))
            .collect::<Result<Vec<_>, _>>()?;
        let mut replies = Vec::with_capacity(commands.len());
        let mut batch = MasterBatches::default();
        for (args, planned) in commands.iter().zip(plans) {
            match planned {
                Plan::Single {
                    shard, stored_keys, ..
                } => {
                    pack_command(args, &stored_keys, batch.next_for(shard));
                }
                other => {
                    replies.extend(self.run_batches(std::mem::take(&mut batch)));
                    replies.push(self.run_plan(args, other).map(|(value, _)| value));
                }
            }
        }
        replies.extend(self.run_batches(batch));
        Ok(replies)
    }

    /// Runs `commands` in MULTI/EXEC on the one master that owns all their keys, atomically as
    /// Redis makes it, and answers EXEC's reply. Keys on several masters (or a server-wide
    /// command) are refused before anything is sent, naming the nodes.
    pub fn transaction<A: AsRef<[u8]>>(&self, commands: &[Vec<A>]) -> Result<Value, ClusterError> {
        let masters = self.master_count();
        let mut shard = None;
        let mut nodes = Vec::new();
        let mut bodies = Vec::with_capacity(commands.len());
        for args in commands {
            match plan(args, masters)? {
                Plan::Single {
                    shard: this,
                    stored_keys,
                    keyed,
                    ..
                } => {
                    if keyed {
                        shard.get_or_insert(this);
                        if !nodes.contains(&this) {
                            nodes.push(this);
                        }
                    }
                    let mut body = Vec::new();
                    pack_command(args, &stored_keys, &mut body);
                    bodies.push(body);
                }
                Plan::Split { groups, .. } => nodes.extend(groups.iter().map(|g| g.shard)),
                Plan::Emulated { keys, .. } if keys.iter().any(|k| k.1 != keys[0].1) => {
                    nodes.extend(keys.iter().map(|(_, s)| *s))
                }
                // On one node, only SORT with BY/GET patterns is composed: its pattern keys
                // may live anywhere.
                Plan::Emulated { .. } => {
                    return Err(ClusterError::Refused {
                        command: String::from_utf8_lossy(args[0].as_ref()).to_ascii_lowercase(),
                        reason: "SORT with BY/GET patterns reads keys on any node, so it cannot run inside a transaction on one node",
                    });
                }
                Plan::Session(_) => {
                    return Err(ClusterError::Refused {
                        command: String::from_utf8_lossy(args[0].as_ref()).to_ascii_lowercase(),
                        reason: "connection settings apply to the whole client, not inside a transaction",
                    });
                }
                Plan::FanOut { .. } => {
                    return Err(ClusterError::Refused {
                        command: String::from_utf8_lossy(args[0].as_ref()).to_ascii_lowercase(),
                        reason: "a server-wide command cannot run inside a transaction on one node",
                    });
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
        match self.run_batches(batch).pop() {
            Some(Ok(Value::ServerError(error))) => Err(ClusterError::Server { node, error }),
            Some(reply) => reply,
            None => Err(ClusterError::Command(
                "ERR empty transaction batch".to_owned(),
            )),
        }
    }
}
