//! A Redis Cluster's redirects: `MOVED` (the slot is served elsewhere now: the map learns
//! it, and is read again soon), `ASK` (this one command goes to the node importing the slot,
//! after `ASKING`), `TRYAGAIN` (a multi-key command during a slot's migration) and
//! `CLUSTERDOWN` (a failover in progress): asked again after a pause, from the map as it is
//! then. Every reply from a Redis Cluster passes here; on client-side shards nothing does.

use std::time::Duration;

use redis::Value;

use super::Executor;
use super::batches::Batch;
use crate::error::ClusterError;
use crate::node::pool::NodePool;
use crate::placement::distribution::SLOTS;
use crate::wire::request::pack_command;

/// Redirects followed for one command before its last reply is answered as it is (redis-py
/// follows 16 too).
const MAX_REDIRECTS: u32 = 16;

/// The pause before asking again after `TRYAGAIN` or `CLUSTERDOWN`, growing with each attempt
/// (a failover takes about a second; the attempts wait about 2.7 s in all).
fn pause(attempt: u32) -> Duration {
    Duration::from_millis(20 * u64::from(attempt + 1))
}

/// What a reply asks of the client.
#[derive(Debug, PartialEq, Eq)]
pub enum Redirect<'a> {
    Moved {
        slot: usize,
        host: &'a str,
        port: u16,
    },
    Ask {
        host: &'a str,
        port: u16,
    },
    Again,
}

/// The redirect a reply is, if it is one.
pub fn redirect_of(value: &Value) -> Option<Redirect<'_>> {
    let Value::ServerError(error) = value else {
        return None;
    };
    match error.code() {
        code @ ("MOVED" | "ASK") => {
            let (slot, addr) = error.details()?.trim().split_once(' ')?;
            let (host, port) = addr.rsplit_once(':')?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let port = port.parse().ok()?;
            Some(match code {
                "MOVED" => Redirect::Moved {
                    slot: slot.parse().ok().filter(|s| *s < SLOTS)?,
                    host,
                    port,
                },
                _ => Redirect::Ask { host, port },
            })
        }
        // READONLY: a write reached a master just turned replica by a failover.
        "TRYAGAIN" | "CLUSTERDOWN" | "READONLY" => Some(Redirect::Again),
        _ => None,
    }
}

impl Executor {
    /// Whether a reply is a redirect (`redirect_of`).
    pub fn is_redirect(value: &Value) -> bool {
        redirect_of(value).is_some()
    }

    /// Whether replies may be redirects (the servers are a Redis Cluster).
    #[inline]
    pub fn redirects(&self) -> bool {
        self.topology.slots.is_some()
    }

    /// `first`, the reply of `node` to `packed`, or where its redirects lead: the reply that
    /// is not a redirect, or the last one after `MAX_REDIRECTS`.
    pub fn follow(
        &self,
        first: Result<Value, ClusterError>,
        unit: usize,
        packed: &[u8],
        read: bool,
    ) -> Result<Value, ClusterError> {
        if !self.redirects() {
            return first;
        }
        let node = self.topology.node_of(unit);
        // The node failed: the cluster may have replaced it (a failover). The map is read
        // again, and a read (never a write, which may have been applied) asks the slot's
        // master now, if that is another node.
        let first = match first {
            Err(ClusterError::Connection { .. } | ClusterError::Timeout { .. })
                if self.topology.read_map(false).is_ok()
                    && read
                    && self.topology.node_of(unit) != node =>
            {
                super::ask_pool(self.master(unit), packed, read)
            }
            other => other,
        };
        let node = self.topology.node_of(unit);
        self.follow_with(
            first,
            node,
            Some(unit),
            whole,
            |pool, asking| match asking {
                false => super::ask_pool(pool, packed, read),
                true => asking_query(pool, packed),
            },
        )
    }

    /// `follow` for a command of a batch sent to `node`, whose slot is not at hand (after
    /// `TRYAGAIN` it is asked of the same node again, or of where a `MOVED` sent it).
    pub fn follow_from(
        &self,
        first: Result<Value, ClusterError>,
        node: usize,
        packed: &[u8],
    ) -> Result<Value, ClusterError> {
        self.follow_with(first, node, None, whole, |pool, asking| match asking {
            false => pool.query(packed),
            true => asking_query(pool, packed),
        })
    }

    /// `follow` for any reply shape: `as_value` shows the part that may be a redirect (an
    /// element-by-element reply has none unless it came whole), `ask` asks a node again (after
    /// `ASKING` when told). `node` is where `first` came from, `unit` the command's slot
    /// when known (after `TRYAGAIN` it is asked of the slot's node then).
    pub fn follow_with<T>(
        &self,
        first: Result<T, ClusterError>,
        mut node: usize,
        unit: Option<usize>,
        as_value: impl Fn(&T) -> Option<&Value>,
        mut ask: impl FnMut(&NodePool, bool) -> Result<T, ClusterError>,
    ) -> Result<T, ClusterError> {
        let Some(map) = &self.topology.slots else {
            return first;
        };
        let mut reply = first;
        for attempt in 0..MAX_REDIRECTS {
            let redirect = match &reply {
                Ok(answer) => as_value(answer).and_then(redirect_of),
                Err(_) => None,
            };
            let Some(redirect) = redirect else {
                return reply;
            };
            // An unknown endpoint (`?` or empty) is on the host of the node that answered.
            let here = self.topology.shards[node].master.config().host.clone();
            let known = |host: &str| match host {
                "" | "?" => here.clone(),
                host => host.to_owned(),
            };
            reply = match redirect {
                Redirect::Moved { slot, host, port } => {
                    node = self.topology.node_at(&known(host), port);
                    map.set_owner(slot, node);
                    // The rest of a migration or failover usually moved more than this slot.
                    let _ = self.topology.read_map(false);
                    ask(&self.topology.shards[node].master, false)
                }
                Redirect::Ask { host, port } => {
                    let target = self.topology.node_at(&known(host), port);
                    ask(&self.topology.shards[target].master, true)
                }
                Redirect::Again => {
                    std::thread::sleep(pause(attempt));
                    let _ = self.topology.read_map(false);
                    node = unit.map_or(node, |slot| map.owner(slot));
                    ask(&self.topology.shards[node].master, false)
                }
            };
        }
        reply
    }
}

impl Executor {
    /// Follows the redirects among a batch's replies (a Redis Cluster's), each command sent
    /// again alone where its redirect leads; nothing on client-side shards.
    pub(crate) fn follow_batches(
        &self,
        batches: &[Batch],
        replies: &mut [Result<Value, ClusterError>],
    ) {
        let redirected = |reply: &Result<Value, ClusterError>| matches!(reply, Ok(value) if redirect_of(value).is_some());
        if !self.redirects() || !replies.iter().any(redirected) {
            return;
        }
        let (multi, exec) = (packed(b"MULTI"), packed(b"EXEC"));
        for batch in batches {
            // A transaction's commands are never sent again alone (their EXEC aborted; the
            // caller runs the whole transaction again: `run_on_masters`).
            let mut in_transaction = false;
            for (k, &place) in batch.places.iter().enumerate() {
                let command = batch.command(k);
                if command == multi.as_slice() {
                    in_transaction = true;
                } else if command == exec.as_slice() {
                    in_transaction = false;
                    continue;
                }
                if in_transaction {
                    continue;
                }
                if redirected(&replies[place]) {
                    let first = std::mem::replace(&mut replies[place], Ok(Value::Nil));
                    replies[place] = self.follow_from(first, batch.shard, batch.command(k));
                }
            }
        }
    }

    /// When `commands` are one MULTI/EXEC (a composed command's) that EXEC aborted because a
    /// command could not be queued where its slot was, the redirect that said so: the whole
    /// transaction may run again (nothing of it was applied).
    pub fn aborted_transaction<'v>(
        commands: &[(usize, Vec<&[u8]>)],
        replies: &'v [Value],
    ) -> Option<&'v Value> {
        let one_transaction = commands.len() >= 2
            && commands[0].1 == [b"MULTI"]
            && commands[commands.len() - 1].1 == [b"EXEC"];
        if !one_transaction || !matches!(replies.last(), Some(Value::ServerError(_))) {
            return None;
        }
        replies[1..replies.len() - 1]
            .iter()
            .find(|reply| redirect_of(reply).is_some())
    }

    /// When `reply` is a redirect (to a command that cannot simply be sent again alone: WATCH,
    /// a transaction), learns what it says (a `MOVED` slot's node; after `ASK`, `TRYAGAIN`
    /// or `CLUSTERDOWN` a pause, `attempt` long) so the caller can start over from the map;
    /// false when it is no redirect or `MAX_REDIRECTS` attempts were made.
    pub fn learn_redirect(&self, reply: &Value, attempt: u32) -> bool {
        let Some(map) = &self.topology.slots else {
            return false;
        };
        let Some(redirect) = redirect_of(reply) else {
            return false;
        };
        if attempt >= MAX_REDIRECTS {
            return false;
        }
        match redirect {
            // An unknown endpoint: the map read below says where the slot is.
            Redirect::Moved { host: "" | "?", .. } => {}
            Redirect::Moved { slot, host, port } => {
                map.set_owner(slot, self.topology.node_at(host, port));
            }
            Redirect::Ask { .. } | Redirect::Again => std::thread::sleep(pause(attempt)),
        }
        let _ = self.topology.read_map(false);
        true
    }
}

/// A command without arguments, packed.
fn packed(name: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    pack_command(&[name], &[], &mut out);
    out
}

/// A reply shown whole to `follow_with`.
fn whole(value: &Value) -> Option<&Value> {
    Some(value)
}

/// `ASKING` and the command on one connection; the command's reply.
pub fn asking_query(pool: &NodePool, packed: &[u8]) -> Result<Value, ClusterError> {
    let mut replies = pool.send(&super::after_asking(packed))?.receive_many(2)?;
    Ok(replies.pop().expect("two replies"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(text: &str) -> Value {
        redis::parse_redis_value(format!("{text}\r\n").as_bytes()).unwrap()
    }

    #[test]
    fn redirects_are_read_from_error_replies() {
        let moved = reply("-MOVED 3999 127.0.0.1:6381");
        assert_eq!(
            redirect_of(&moved),
            Some(Redirect::Moved {
                slot: 3999,
                host: "127.0.0.1",
                port: 6381
            })
        );
        let ask = reply("-ASK 3999 [::1]:6381");
        assert_eq!(
            redirect_of(&ask),
            Some(Redirect::Ask {
                host: "::1",
                port: 6381
            })
        );
        for again in [
            "-TRYAGAIN Multiple keys request during rehashing of slot",
            "-CLUSTERDOWN The cluster is down",
        ] {
            assert_eq!(redirect_of(&reply(again)), Some(Redirect::Again));
        }
        for not in ["-ERR wrong", "-MOVED nonsense", "+OK"] {
            assert_eq!(redirect_of(&reply(not)), None);
        }
    }
}
