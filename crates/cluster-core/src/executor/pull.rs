//! The online window's writes: before a write runs on a key's new master, the key is moved
//! there from its old master if it is still on it ("pull on write"). Without this a write
//! would act on the new master alone: INCR would count from zero, LPUSH would start a new list
//! (and the move, finding the key already on the new master, would drop the old items), SET NX
//! would take a lock someone holds, DEL would leave the old copy for reads to find, and a SET
//! whose value later expired would uncover the old one.
//!
//! The move is the migration tool's own: `DUMP` and `PTTL` on the old master, `RESTORE`
//! without `REPLACE` on the new one (a copy already there, restored by the tool or another
//! client, or written since, wins: `BUSYKEY`), then `DEL` on the old master. A key is always
//! on one master or the other, so a read meanwhile finds it.
//!
//! After `BUSYKEY` the old copy is deleted only when the new servers are a Redis Cluster,
//! certainly other servers than the client-side masters left behind. Between client-side
//! configs the "old" and "new" master may be one server named two ways (`localhost` and
//! `127.0.0.1`): `BUSYKEY` then means the key itself, and deleting "the old copy" would delete
//! it. The copy left when they do differ is the tool's to delete (it deletes the old copy of a
//! key it finds already moved), and reads take the new master's meanwhile.
//!
//! An old master that cannot answer whether it has the key, or refuses to delete the old copy,
//! fails the write, before it is sent: writing beside a copy that may still be there would lose
//! it for good once the move finds the key written, and a copy left behind would come back once
//! the write removed the key (a DEL, a pop) for reads and the move to find. Running the write
//! again is safe: the key is then on the new master (BUSYKEY) and the old copy goes.
//!
//! One race is left, between two movers of one key (two clients, or a client and the tool):
//! both DUMP it, the first RESTOREs it and its write removes the key (a pop of the last item,
//! a DEL), then the second's RESTORE brings it back.

use std::collections::HashSet;

use redis::Value;

use super::Executor;
use super::batches::MasterBatches;
use crate::commands::{self, Flags, key_positions};
use crate::error::{ClusterError, server_message};
use crate::placement::PlacedKey;
use crate::wire::request::pack_command;

/// A key a write names that may still be on its old master.
struct Pulled<'a> {
    key: PlacedKey<'a>,
    /// Its name on the old master.
    old_name: &'a [u8],
    old: usize,
}

/// A key's value on its old master: the DUMP payload and RESTORE's expiry (0: none).
type Dumped = Option<(Vec<u8>, i64)>;

impl Executor {
    /// Moves the keys the writes among `commands` name from their old masters to their new
    /// ones, before the commands run (see the module's comment). Outside the window, or for
    /// reads only, nothing is sent. An old master that cannot say whether it has a key, or a
    /// new master that refuses to take one (a RESTORE error other than BUSYKEY), is the error,
    /// and the commands must not run.
    pub fn pull_before_writes<'c, A: AsRef<[u8]> + 'c>(
        &self,
        commands: impl IntoIterator<Item = &'c [A]>,
    ) -> Result<(), ClusterError> {
        if !self.window_open() {
            return Ok(());
        }
        let mut pulled: Vec<Pulled<'c>> = Vec::new();
        let mut seen: HashSet<&'c [u8]> = HashSet::new();
        for args in commands {
            for at in keys_to_pull(args) {
                let key = self.placement().place(args[at].as_ref(), self.unit_count());
                let Some(old) = self.moving_from(&key) else {
                    continue;
                };
                if seen.insert(key.key) {
                    let old_name = self.old_name(&key);
                    pulled.push(Pulled { key, old_name, old });
                }
            }
        }
        if pulled.is_empty() {
            return Ok(());
        }
        let dumps = self.dump_on_old_masters(&pulled)?;
        let mut restores = MasterBatches::default();
        let mut restored = Vec::new();
        for (p, dump) in pulled.iter().zip(dumps) {
            let Some((payload, ttl)) = dump else { continue };
            let ttl = ttl.to_string();
            let args: [&[u8]; 4] = [b"RESTORE", p.key.stored, ttl.as_bytes(), &payload];
            let node = self.topology.node_of(p.key.shard);
            pack_command(&args, &[], restores.next_for(node));
            restored.push(p);
        }
        if restored.is_empty() {
            return Ok(());
        }
        // Each key the new master took leaves its old master (after BUSYKEY only where they
        // are surely two servers, see the module's comment); the first refusal is the answer,
        // once the others are done.
        let distinct_servers = self.redirects();
        let mut refused = None;
        let mut deletes = MasterBatches::default();
        let mut deleted = Vec::new();
        for (p, reply) in restored.iter().zip(self.run_batches(restores)) {
            match reply {
                Ok(Value::ServerError(e)) if e.code() == "BUSYKEY" && !distinct_servers => {}
                Ok(Value::ServerError(e)) if e.code() != "BUSYKEY" => {
                    refused.get_or_insert_with(|| {
                        ClusterError::Command(format!(
                            "{}: could not move '{}' from its {} before writing it: {}",
                            self.master_name(p.key.shard),
                            String::from_utf8_lossy(p.key.key),
                            self.old_master_name(p.old),
                            server_message(&e)
                        ))
                    });
                }
                Err(e) => {
                    refused.get_or_insert(e);
                }
                Ok(_) => {
                    pack_command(
                        &[b"DEL".as_slice(), p.old_name],
                        &[],
                        deletes.next_for(p.old),
                    );
                    deleted.push(p);
                }
            }
        }
        let replies = self.exchange_with_old_masters(deletes);
        for (p, reply) in deleted.iter().zip(replies) {
            let failure = match reply {
                Ok(Value::ServerError(e)) => server_message(&e),
                Err(e) => e.to_string(),
                Ok(_) => continue,
            };
            refused.get_or_insert_with(|| {
                ClusterError::Command(format!(
                    "{}: could not delete the old copy of '{}' before writing it: {failure}",
                    self.old_master_name(p.old),
                    String::from_utf8_lossy(p.key.key),
                ))
            });
        }
        refused.map_or(Ok(()), Err)
    }

    /// An old master as errors name it: `old master node_k (host:port)`.
    fn old_master_name(&self, old: usize) -> String {
        let pool = &self.topology.previous[old];
        format!("old master {} ({})", pool.name(), pool.config().addr())
    }

    /// `DUMP` and `PTTL` of each key on its old master, every old master at once: the payload
    /// and the RESTORE expiry where the key is there, `None` where it is not. An old master
    /// that fails, or answers an error, is the error.
    fn dump_on_old_masters(&self, pulled: &[Pulled<'_>]) -> Result<Vec<Dumped>, ClusterError> {
        let mut batches = MasterBatches::default();
        for p in pulled {
            pack_command(
                &[b"DUMP".as_slice(), p.old_name],
                &[],
                batches.next_for(p.old),
            );
            pack_command(
                &[b"PTTL".as_slice(), p.old_name],
                &[],
                batches.next_for(p.old),
            );
        }
        let replies = self.exchange_with_old_masters(batches);
        let mut dumps = Vec::with_capacity(pulled.len());
        for (p, pair) in pulled.iter().zip(replies.chunks(2)) {
            let [dump, ttl] = pair else {
                return Err(ClusterError::Command(
                    "DUMP and PTTL: a reply is missing".to_owned(),
                ));
            };
            let dump = match (dump.clone()?, ttl.clone()?) {
                (Value::Nil, _) | (_, Value::Int(-2)) => None,
                // PTTL -1: no expiry (RESTORE's 0); a key about to expire keeps 1 ms.
                (Value::BulkString(payload), Value::Int(ttl)) => {
                    Some((payload, if ttl < 0 { 0 } else { ttl.max(1) }))
                }
                (Value::ServerError(e), _) | (_, Value::ServerError(e)) => {
                    return Err(ClusterError::Command(format!(
                        "{}: could not read '{}' before writing it: {}",
                        self.old_master_name(p.old),
                        String::from_utf8_lossy(p.key.key),
                        server_message(&e)
                    )));
                }
                (dump, ttl) => {
                    return Err(ClusterError::Command(format!(
                        "{}: unexpected answers to DUMP and PTTL of '{}': {dump:?}, {ttl:?}",
                        self.old_master_name(p.old),
                        String::from_utf8_lossy(p.key.key)
                    )));
                }
            };
            dumps.push(dump);
        }
        Ok(dumps)
    }
}

/// The positions of the keys a command may change: every key of a command that is not a read
/// (scripts included: EVAL declares its keys), except for pub/sub commands (their "keys" are
/// channels). Unknown or malformed commands name none (they fail on their own).
fn keys_to_pull<A: AsRef<[u8]>>(args: &[A]) -> Vec<usize> {
    let Ok(spec) = commands::resolve(args) else {
        return Vec::new();
    };
    if spec.flags.contains(Flags::READ) || spec.flags.contains(Flags::PUBSUB) {
        return Vec::new();
    }
    key_positions(spec, args).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::keys_to_pull;

    fn pulls(line: &str) -> Vec<usize> {
        let args: Vec<&str> = line.split(' ').collect();
        keys_to_pull(&args)
    }

    #[test]
    fn writes_that_depend_on_the_old_value_pull_their_keys() {
        assert_eq!(pulls("INCR counter"), [1]);
        assert_eq!(pulls("LPUSH queue job"), [1]);
        assert_eq!(pulls("SET lock me NX PX 1000"), [1]);
        assert_eq!(pulls("SET k v KEEPTTL"), [1]);
        assert_eq!(pulls("set k v get"), [1]);
        assert_eq!(pulls("DEL a b"), [1, 2]);
        assert_eq!(pulls("RENAME a b"), [1, 2]);
        assert_eq!(pulls("EVAL script 2 a b x"), [3, 4]);
        assert_eq!(pulls("EXPIRE k 10"), [1]);
        // A whole replacement too: the old copy must not outlive the new value's expiry.
        assert_eq!(pulls("SETEX k 10 v"), [1]);
        assert_eq!(pulls("MSET a 1 b 2"), [1, 3]);
    }

    #[test]
    fn reads_and_channels_pull_nothing() {
        assert!(pulls("GET k").is_empty());
        assert!(pulls("EVAL_RO script 1 a").is_empty());
        assert!(pulls("SPUBLISH channel message").is_empty());
        assert!(pulls("NOSUCHCOMMAND k").is_empty());
    }
}
