//! The online window: during a reshard (`previous` in the config) a key may still be on its
//! old master. A read of a key asks the key's new master whether it has the key and runs the
//! command, and in the same round trip asks its old master the same (`EXISTS` and the command
//! together, so an answer always comes from a server that had the key when asked): the new
//! master's answer when it has the key, else the old master's when it has it, else the new
//! master's again (the key moved in between, or does not exist). One round trip's wait, moved
//! or not. Pipelines and transactions ask the old masters after their batch, for the keys the
//! new masters lacked (`ask_old_masters`). The old master is asked for the key under the name
//! the old placement stored it by: the same name after a reshard, the tag-stripped one when the
//! current servers are a Redis Cluster (`bar{foo}` is `bar` on foo's old master). Writes never
//! come here: they first move the keys they name to their new master (`pull.rs`). An old
//! master that cannot be reached is a miss: the window never makes a read fail. Reads in the
//! window go to masters.
//!
//! While `reshard` runs it publishes how far it got on each old master (`topology/progress.rs`,
//! read by `progress.rs`): a key below the mark is not asked of its old master at all (reads go
//! to its new master alone, still a master; writes pull nothing, `pull.rs`), and into a Redis
//! Cluster a key above it is read on its old master alone first (`Asked::OldFirst`): one server
//! per read for nearly every read of the move, instead of two.

use std::borrow::Cow;

use redis::Value;

use super::batches::MasterBatches;
use super::{Executor, exchange, gather};
use crate::commands::{self, key_positions};
use crate::error::ClusterError;
use crate::placement::PlacedKey;
use crate::wire::request::{pack_command, parse_one_command};

/// One reply per packed command, in order: the value, or its node's failure.
type Replies = Vec<Result<Value, ClusterError>>;

/// How `read_keys` asked a read, by where its replies are.
enum Asked {
    /// On its new master only (the key is not moving, or its old master no longer has it).
    New { read: usize },
    /// On its old master only (`EXISTS` and the read, from `old`): the mover has not reached
    /// the key yet, so that is most likely where it is.
    OldFirst { old: usize },
    /// On both at once: `EXISTS` and the read on the new master, the same pair on the old
    /// master when the read can be named there.
    Both {
        probe: usize,
        read: usize,
        old: Option<usize>,
    },
}

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

    /// The index among `previous` of the key's old master, when the window is open and that
    /// is another server (or database) than the key's master now: a key that moves. Its reads
    /// go to masters (`read_keys`) however far the move got: a replica may not have the key
    /// its master just received.
    fn old_master(&self, key: &PlacedKey<'_>) -> Option<usize> {
        if !self.window_open() {
            return None;
        }
        let old = self.old_index(key);
        let twin = self.topology.previous_twins[old];
        (twin != Some(self.topology.node_of(key.shard))).then_some(old)
    }

    /// `old_master`, unless the mover has published that the old master holds no key of this
    /// key's bucket any more (`topology/progress.rs`): where the key may still be.
    pub(super) fn moving_from(&self, key: &PlacedKey<'_>) -> Option<usize> {
        let old = self.old_master(key)?;
        let progress = &self.topology.previous_progress;
        (!progress.moved_past(old, self.old_name(key))).then_some(old)
    }

    /// The name a key is stored under on its old master.
    pub(super) fn old_name<'k>(&self, key: &PlacedKey<'k>) -> &'k [u8] {
        self.topology.previous_placement.split(key.key).stored
    }

    /// Runs `batches` (packed per old master) on the old masters, all at once.
    pub(super) fn exchange_with_old_masters(&self, batches: MasterBatches) -> Replies {
        let previous = &self.topology.previous;
        exchange(batches, |old| &previous[old])
    }

    /// A read as the key's old master takes it: the key's name there and the command naming
    /// every key as the old placement stored it (the same command after a reshard; after a
    /// move into a Redis Cluster, `bar{foo}` named `bar`). `None` when the read cannot be
    /// named so (not one command the table knows).
    fn old_read<'k, 'p>(
        &self,
        key: &PlacedKey<'k>,
        packed: &'p [u8],
    ) -> Option<(&'k [u8], Cow<'p, [u8]>)> {
        let previous = &self.topology.previous_placement;
        let old_name = self.old_name(key);
        if previous.names_like(self.placement()) {
            return Some((old_name, Cow::Borrowed(packed)));
        }
        let args = parse_one_command(packed)?;
        let spec = commands::resolve(&args).ok()?;
        let mut renamed: Vec<(usize, &[u8])> = key_positions(spec, &args)
            .ok()?
            .into_iter()
            .map(|at| (at, previous.split(&args[at]).stored))
            .collect();
        renamed.sort_unstable_by_key(|&(at, _)| at);
        renamed.dedup_by_key(|&mut (at, _)| at);
        let mut read = Vec::with_capacity(packed.len());
        pack_command(&args, &renamed, &mut read);
        Some((old_name, Cow::Owned(read)))
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
        let at = first_key.filter(|_| read && self.window_open())?;
        let key = self.placement().place(args[at].as_ref(), self.unit_count());
        self.old_master(&key)?;
        Some(key)
    }

    /// The key a read in a pipeline or transaction (run on masters) must also look for on its
    /// old master: `moving_key`, unless the mover has moved past it.
    pub fn probed_key<'a, A: AsRef<[u8]>>(
        &self,
        args: &'a [A],
        first_key: Option<usize>,
        read: bool,
    ) -> Option<PlacedKey<'a>> {
        self.moving_key(args, first_key, read)
            .filter(|key| self.moving_from(key).is_some())
    }

    /// One read of a key that moves (`moving_key`), as `read_keys` reads it; a key the mover
    /// has moved past takes the plain single-command path to its master.
    pub fn read_key(&self, key: PlacedKey<'_>, packed: Vec<u8>) -> Result<Value, ClusterError> {
        if self.moving_from(&key).is_none() {
            return self.on_master(key.shard, &packed, true);
        }
        Ok(self.read_keys(&[KeyRead { key, packed }])?.remove(0))
    }

    /// Reads on masters, each naming the one key it reads, all masters at once. Outside the
    /// window each command simply runs on its key's master. In it each key is read where it
    /// is: a key the mover has moved past on its new master alone; into a Redis Cluster,
    /// while the mover publishes its progress, a key it has not reached on its old master
    /// alone (one server, as outside the window), and only if it is not there on its new
    /// master; otherwise on both masters at once (`Asked::Both`). The replies in
    /// the caller's order, error replies as values; a new master that fails is the error.
    pub fn read_keys(&self, reads: &[KeyRead<'_>]) -> Result<Vec<Value>, ClusterError> {
        let mut batches = MasterBatches::default();
        let mut old_batches = MasterBatches::default();
        let asked: Vec<Asked> = reads
            .iter()
            .map(|read| self.pack_read(read, &mut batches, &mut old_batches))
            .collect();
        let (replies, old_replies) = self.run_beside_old_masters(batches, old_batches);
        let mut replies: Vec<Value> = replies.into_iter().collect::<Result<_, _>>()?;
        // The old master's answer where it had the key.
        let on_old = |at: usize| match (&old_replies[at], &old_replies[at + 1]) {
            (Ok(Value::Int(1)), Ok(value)) => Some(value.clone()),
            _ => None,
        };
        let mut values = Vec::with_capacity(reads.len());
        // Neither master had the key when asked: the new master again (the key moved in
        // between, or does not exist).
        let mut again = MasterBatches::default();
        let mut still_missing = Vec::new();
        for (i, (read, asked)) in reads.iter().zip(asked).enumerate() {
            let value = match asked {
                Asked::New { read } => Some(std::mem::take(&mut replies[read])),
                Asked::Both { probe, read, .. } if replies[probe] == Value::Int(1) => {
                    Some(std::mem::take(&mut replies[read]))
                }
                Asked::Both { old, .. } => old.and_then(on_old),
                Asked::OldFirst { old } => on_old(old),
            };
            values.push(value.unwrap_or_else(|| {
                again
                    .next_for(self.topology.node_of(read.key.shard))
                    .extend_from_slice(&read.packed);
                still_missing.push(i);
                Value::Nil
            }));
        }
        for (i, value) in still_missing.into_iter().zip(self.run_batches(again)) {
            values[i] = value?;
        }
        Ok(values)
    }

    /// Packs one read as `read_keys` asks it (see `Asked`).
    fn pack_read(
        &self,
        read: &KeyRead<'_>,
        batches: &mut MasterBatches,
        old_batches: &mut MasterBatches,
    ) -> Asked {
        let node = self.topology.node_of(read.key.shard);
        let on_new = |batches: &mut MasterBatches| {
            batches.next_for(node).extend_from_slice(&read.packed);
            batches.len() - 1
        };
        let Some(old) = self.moving_from(&read.key) else {
            return Asked::New {
                read: on_new(batches),
            };
        };
        // Only into a Redis Cluster: there a write that finds the key already moved deletes the
        // old copy before it writes (`pull.rs`), so an old master's copy is never older than
        // the new master's. Between client-side configs that copy may outlive such a write
        // until `reshard` deletes it, and only the new master's answer is sure.
        if self.redirects() && self.topology.previous_progress.known(old) {
            return match self.pack_old_read(&read.key, &read.packed, old_batches) {
                Some(old) => Asked::OldFirst { old },
                None => Asked::New {
                    read: on_new(batches),
                },
            };
        }
        pack_exists(read.key.stored, batches.next_for(node));
        let probe = batches.len() - 1;
        let old = self.pack_old_read(&read.key, &read.packed, old_batches);
        Asked::Both {
            probe,
            read: on_new(batches),
            old,
        }
    }

    /// Packs, for a key's old master, `EXISTS` and the read, both naming the key as it is
    /// stored there; where the first of the two replies will be, or `None` when the read
    /// cannot be named so.
    fn pack_old_read(
        &self,
        key: &PlacedKey<'_>,
        packed: &[u8],
        batches: &mut MasterBatches,
    ) -> Option<usize> {
        let (old_name, read) = self.old_read(key, packed)?;
        let old = self.old_index(key);
        pack_exists(old_name, batches.next_for(old));
        batches.next_for(old).extend_from_slice(&read);
        Some(batches.len() - 2)
    }

    /// Runs `batches` on the masters (following a Redis Cluster's redirects) and `old` on the
    /// old masters, all written before any reply is read: one round trip for both. An old
    /// master's failure is only its replies' (a miss), never the read's.
    fn run_beside_old_masters(
        &self,
        batches: MasterBatches,
        old: MasterBatches,
    ) -> (Replies, Replies) {
        let (count, old_count) = (batches.len(), old.len());
        let (batches, old) = (batches.into_batches(), old.into_batches());
        let sent = self.send_to_masters(&batches);
        let previous = &self.topology.previous;
        let old_sent: Vec<_> = old
            .iter()
            .map(|batch| previous[batch.shard].send(&batch.packed))
            .collect();
        let mut replies = gather(count, &batches, sent);
        let old_replies = gather(old_count, &old, old_sent);
        self.follow_batches(&batches, &mut replies);
        (replies, old_replies)
    }

    /// Asks each read's old master, all old masters at once, for the key and the command
    /// together: the command's reply where the old master has the key, `None` where it does
    /// not or cannot be reached. Pipelines and transactions use this for the reads their new
    /// master answered without the key.
    pub fn ask_old_masters(&self, reads: &[(PlacedKey<'_>, &[u8])]) -> Vec<Option<Value>> {
        if !self.window_open() {
            return vec![None; reads.len()];
        }
        let mut batches = MasterBatches::default();
        // Where each read's pair of replies is, if it could be asked.
        let asked: Vec<Option<usize>> = reads
            .iter()
            .map(|(key, packed)| {
                self.moving_from(key)?;
                self.pack_old_read(key, packed, &mut batches)
            })
            .collect();
        let replies = self.exchange_with_old_masters(batches);
        asked
            .iter()
            .map(|at| match at.map(|at| (&replies[at], &replies[at + 1])) {
                Some((Ok(Value::Int(1)), Ok(value))) => Some(value.clone()),
                _ => None,
            })
            .collect()
    }
}

/// `EXISTS stored`: does this server have the key?
pub fn pack_exists(stored: &[u8], out: &mut Vec<u8>) {
    pack_command(&[b"EXISTS".as_slice(), stored], &[], out);
}
