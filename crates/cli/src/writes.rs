//! The destination side of `copy` and `reshard`: a batch's RESTOREs, grouped by destination
//! master, written to every destination before any reply is read, so the destinations restore
//! at the same time (and while the source reads the next batch, see `readahead.rs`). Into a
//! Redis Cluster the batch is one pipeline of the engine, which groups it by slot owner the
//! same way and follows the cluster's redirects.

use std::borrow::Cow;

use cluster_core::{Cluster, NodeConfig, NodeConnection};
use redis::Value;

use crate::error::ToolError;
use crate::nodes::connect;
use crate::readahead::{Dumped, run};

/// What became of one RESTORE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restored {
    Done,
    /// The destination already had the key (BUSYKEY: only without REPLACE).
    AlreadyThere,
}

/// Connections to the destination masters, made when first needed; or the engine over a
/// destination Redis Cluster.
pub struct Destinations<'a> {
    masters: &'a [NodeConfig],
    connections: Vec<Option<NodeConnection>>,
    cluster: Option<&'a Cluster>,
}

impl<'a> Destinations<'a> {
    /// `cluster`: the engine over the destination when it is a Redis Cluster
    /// (`cluster_names::engine`).
    pub fn new(masters: &'a [NodeConfig], cluster: Option<&'a Cluster>) -> Destinations<'a> {
        Destinations {
            masters,
            connections: masters.iter().map(|_| None).collect(),
            cluster,
        }
    }

    /// RESTOREs every key of `dumped` on its target master under `name(key)` (with REPLACE when
    /// `replace`; the expiry instant kept to the millisecond), all destinations at once. One
    /// outcome per key, in order; any error reply other than BUSYKEY is the error.
    pub fn restore(
        &mut self,
        dumped: &[Dumped],
        name: impl Fn(&Dumped) -> &[u8],
        replace: bool,
    ) -> Result<Vec<Restored>, ToolError> {
        if let Some(cluster) = self.cluster {
            return restore_in_cluster(cluster, dumped, name, replace);
        }
        let mut packed = vec![Vec::new(); self.masters.len()];
        let mut counts = vec![0usize; self.masters.len()];
        for item in dumped {
            let mut restore = redis::Cmd::new();
            for arg in restore_args(name(item), item, replace) {
                restore.arg(&*arg);
            }
            restore.write_packed_command(&mut packed[item.target]);
            counts[item.target] += 1;
        }
        for (target, bytes) in packed.iter().enumerate() {
            if counts[target] > 0 {
                let node = &self.masters[target];
                if self.connections[target].is_none() {
                    self.connections[target] = Some(connect(node)?);
                }
                let connection = self.connections[target].as_mut().expect("connected above");
                connection
                    .send(bytes)
                    .map_err(|e| ToolError::node(node, &e))?;
            }
        }
        let mut replies: Vec<std::vec::IntoIter<Value>> = Vec::with_capacity(counts.len());
        for (target, &count) in counts.iter().enumerate() {
            let got = match &mut self.connections[target] {
                Some(connection) if count > 0 => connection
                    .receive(count)
                    .map_err(|e| ToolError::node(&self.masters[target], &e))?,
                _ => Vec::new(),
            };
            replies.push(got.into_iter());
        }
        dumped
            .iter()
            .map(|item| {
                let node = &self.masters[item.target];
                outcome(replies[item.target].next(), name(item)).map_err(|message| {
                    ToolError::Node {
                        node: node.name.clone(),
                        addr: node.addr(),
                        message,
                    }
                })
            })
            .collect()
    }
}

/// `RESTORE name expiry payload [REPLACE] [ABSTTL]`: the expiry instant kept to the
/// millisecond.
fn restore_args<'d>(name: &'d [u8], item: &'d Dumped, replace: bool) -> Vec<Cow<'d, [u8]>> {
    let mut args = vec![
        Cow::Borrowed(&b"RESTORE"[..]),
        Cow::Borrowed(name),
        Cow::Owned(item.expire_at.max(0).to_string().into_bytes()),
        Cow::Borrowed(item.payload.as_slice()),
    ];
    if replace {
        args.push(Cow::Borrowed(b"REPLACE"));
    }
    if item.expire_at > 0 {
        args.push(Cow::Borrowed(b"ABSTTL"));
    }
    args
}

/// What one RESTORE's reply says; any error reply other than BUSYKEY is the error's text.
fn outcome(reply: Option<Value>, name: &[u8]) -> Result<Restored, String> {
    match reply {
        Some(Value::ServerError(e)) if e.code() == "BUSYKEY" => Ok(Restored::AlreadyThere),
        Some(Value::ServerError(e)) => Err(format!(
            "RESTORE of {} failed: {} {}",
            String::from_utf8_lossy(name),
            e.code(),
            e.details().unwrap_or("")
        )),
        _ => Ok(Restored::Done),
    }
}

/// The batch's RESTOREs as one pipeline of the engine over a Redis Cluster.
fn restore_in_cluster(
    cluster: &Cluster,
    dumped: &[Dumped],
    name: impl Fn(&Dumped) -> &[u8],
    replace: bool,
) -> Result<Vec<Restored>, ToolError> {
    let commands: Vec<Vec<Cow<'_, [u8]>>> = dumped
        .iter()
        .map(|item| restore_args(name(item), item, replace))
        .collect();
    let replies = cluster
        .pipeline(&commands)
        .map_err(|e| ToolError::Cluster(e.to_string()))?;
    dumped
        .iter()
        .zip(replies)
        .map(|(item, reply)| {
            let reply = reply.map_err(|e| ToolError::Cluster(e.to_string()))?;
            outcome(Some(reply), name(item)).map_err(ToolError::Cluster)
        })
        .collect()
}

/// Deletes `keys` on `node` in one round trip (the old copies of keys now confirmed on their
/// new masters).
pub fn delete(
    connection: &mut NodeConnection,
    node: &NodeConfig,
    keys: &[&[u8]],
) -> Result<(), ToolError> {
    if keys.is_empty() {
        return Ok(());
    }
    let mut packed = Vec::new();
    for key in keys {
        redis::cmd("DEL")
            .arg(*key)
            .write_packed_command(&mut packed);
    }
    // A refused DEL (MISCONF, READONLY, NOPERM, ...) leaves the old copy where the window
    // would still read it: the job stops before recording the batch.
    let replies = run(connection, node, &packed, keys.len())?;
    match keys
        .iter()
        .zip(&replies)
        .find_map(|(key, reply)| match reply {
            Value::ServerError(e) => Some((key, e)),
            _ => None,
        }) {
        Some((key, e)) => Err(ToolError::Node {
            node: node.name.clone(),
            addr: node.addr(),
            message: format!(
                "DEL of {} (moved, its old copy to go) failed: {} {}",
                String::from_utf8_lossy(key),
                e.code(),
                e.details().unwrap_or("")
            ),
        }),
        None => Ok(()),
    }
}
