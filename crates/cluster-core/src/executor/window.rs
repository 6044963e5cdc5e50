//! The online window: during a reshard (`previous` in the config) a key may still be on its
//! old master. A read of a key asks the key's new master whether it has the key and runs the
//! command in the same round trip; if it does not, the key's old master answers when it still
//! has the key (again `EXISTS` and the command together, so the answer always comes from a
//! server that had the key when asked); otherwise the new master again (the key moved in
//! between, or does not exist). Writes never come here. An old master that cannot be reached
//! is a miss: the window never makes a read fail. Reads in the window go to masters.

use redis::Value;

use super::batches::MasterBatches;
use super::{Executor, exchange};
use crate::error::ClusterError;
use crate::node::pool::NodePool;
use crate::placement::PlacedKey;
use crate::wire::request::pack_command;

/// A read of one key: the key, and the packed command that reads it.
pub struct KeyRead<'a> {
    pub key: PlacedKey<'a>,
    pub packed: Vec<u8>,
}

impl Executor {
    /// Is a reshard's window open (`previous` in the config)?
    pub fn window_open(&self) -> bool {
        !self.topology.previous.is_empty()
    }

    /// The index of a key's master among `previous`'s, placed as they were (their own
    /// distribution; the same tags and rules, so the same stored name).
    fn old_index(&self, key: &PlacedKey<'_>) -> usize {
        let previous = &self.topology.previous_placement;
        previous.master_index(key.key, self.topology.previous.len())
    }

    /// The key's old master, when the window is open and that is another server than the
    /// key's master now.
    pub fn old_master(&self, key: &PlacedKey<'_>) -> Option<&NodePool> {
        let previous = &self.topology.previous;
        if previous.is_empty() {
            return None;
        }
        let old = &previous[self.old_index(key)];
        (old.config().addr() != self.master(key.shard).config().addr()).then_some(old)
    }

    /// The key a read names first (`args[first_key]`), placed, when a reshard's window is
    /// open and the key's old master is another server: a read that must look for it there.
    /// `None` for writes, keyless commands and outside the window, without placing anything.
    pub fn moving_key<'a, A: AsRef<[u8]>>(
        &self,
        args: &'a [A],
        first_key: Option<usize>,
        read: bool,
    ) -> Option<PlacedKey<'a>> {
        first_key
            .filter(|_| read && self.window_open())
            .map(|at| self.placement().place(args[at].as_ref(), self.unit_count()))
            .filter(|key| self.old_master(key).is_some())
    }

    /// Reads on masters, each naming the one key it reads, all masters at once: in the window
    /// each key is read where it is (new master, else old master, else new master again, each
    /// step batched per master); outside it, each command simply runs on its key's master.
    /// The replies in the caller's order, error replies as values; a new master that fails is
    /// the error.
    pub fn read_keys(&self, reads: &[KeyRead<'_>]) -> Result<Vec<Value>, ClusterError> {
        let mut batches = MasterBatches::default();
        let mut probes = Vec::with_capacity(reads.len());
        let mut places = Vec::with_capacity(reads.len());
        for read in reads {
            let node = self.topology.node_of(read.key.shard);
            let probe = self.old_master(&read.key).map(|_| {
                pack_exists(read.key.stored, batches.next_for(node));
                batches.len() - 1
            });
            probes.push(probe);
            batches.next_for(node).extend_from_slice(&read.packed);
            places.push(batches.len() - 1);
        }
        let mut replies: Vec<Value> = self
            .run_batches(batches)
            .into_iter()
            .collect::<Result<_, _>>()?;
        let missing: Vec<usize> = (0..reads.len())
            .filter(|&i| probes[i].is_some_and(|p| replies[p] != Value::Int(1)))
            .collect();
        let mut values: Vec<Value> = places
            .iter()
            .map(|&at| std::mem::replace(&mut replies[at], Value::Nil))
            .collect();
        if missing.is_empty() {
            return Ok(values);
        }
        let from_old = self.ask_old_masters(
            &missing
                .iter()
                .map(|&i| (reads[i].key, reads[i].packed.as_slice()))
                .collect::<Vec<_>>(),
        );
        let mut again = MasterBatches::default();
        let mut still_missing = Vec::new();
        for (&i, found) in missing.iter().zip(from_old) {
            match found {
                Some(value) => values[i] = value,
                None => {
                    again
                        .next_for(self.topology.node_of(reads[i].key.shard))
                        .extend_from_slice(&reads[i].packed);
                    still_missing.push(i);
                }
            }
        }
        for (i, value) in still_missing.into_iter().zip(self.run_batches(again)) {
            values[i] = value?;
        }
        Ok(values)
    }

    /// Asks each read's old master, all old masters at once, for the key and the command
    /// together: the command's reply where the old master has the key, `None` where it does
    /// not or cannot be reached. Pipelines and transactions use this for the reads their new
    /// master answered without the key.
    pub fn ask_old_masters(&self, reads: &[(PlacedKey<'_>, &[u8])]) -> Vec<Option<Value>> {
        let previous = &self.topology.previous;
        if previous.is_empty() {
            return vec![None; reads.len()];
        }
        let mut batches = MasterBatches::default();
        for (key, packed) in reads {
            let old = self.old_index(key);
            pack_exists(key.stored, batches.next_for(old));
            batches.next_for(old).extend_from_slice(packed);
        }
        let replies = exchange(batches, |old| &previous[old]);
        replies
            .chunks_exact(2)
            .map(|pair| match pair {
                [Ok(Value::Int(1)), Ok(value)] => Some(value.clone()),
                _ => None,
            })
            .collect()
    }
}

/// `EXISTS stored`: does this server have the key?
pub fn pack_exists(stored: &[u8], out: &mut Vec<u8>) {
    pack_command(&[b"EXISTS".as_slice(), stored], &[], out);
}
