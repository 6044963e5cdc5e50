//! The destination side of `copy` and `reshard`: a batch's RESTOREs, grouped by destination
//! master, written to every destination before any reply is read, so the destinations restore
//! at the same time (and while the source reads the next batch, see `readahead.rs`).

use cluster_core::{NodeConfig, NodeConnection};
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

/// Connections to the destination masters, made when first needed.
pub struct Destinations<'a> {
    masters: &'a [NodeConfig],
    connections: Vec<Option<NodeConnection>>,
}

impl<'a> Destinations<'a> {
    pub fn new(masters: &'a [NodeConfig]) -> Destinations<'a> {
        Destinations {
            masters,
            connections: masters.iter().map(|_| None).collect(),
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
        let mut packed = vec![Vec::new(); self.masters.len()];
        let mut counts = vec![0usize; self.masters.len()];
        for item in dumped {
            let mut restore = redis::cmd("RESTORE");
            restore
                .arg(name(item))
                .arg(item.expire_at.max(0))
                .arg(item.payload.as_slice());
            if replace {
                restore.arg("REPLACE");
            }
            if item.expire_at > 0 {
                restore.arg("ABSTTL");
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
                match replies[item.target].next() {
                    Some(Value::ServerError(e)) if e.code() == "BUSYKEY" => {
                        Ok(Restored::AlreadyThere)
                    }
                    Some(Value::ServerError(e)) => Err(ToolError::Node {
                        node: node.name.clone(),
                        addr: node.addr(),
                        message: format!(
                            "RESTORE of {} failed: {} {}",
                            String::from_utf8_lossy(name(item)),
                            e.code(),
                            e.details().unwrap_or("")
                        ),
                    }),
                    _ => Ok(Restored::Done),
                }
            })
            .collect()
    }
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
