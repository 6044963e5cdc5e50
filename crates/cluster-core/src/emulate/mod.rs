//! Commands composed by the client when their keys live on several masters: per-node reads,
//! computed here, per-node writes. None of them is atomic across nodes (each step is atomic on
//! its node); each keeps Redis's replies and errors, and none loses data.

mod gather;
mod keys;
mod lists;
mod pops;
mod sets;
mod sort;
mod strings;
mod zsets;

use redis::Value;

use crate::cluster::Cluster;
use crate::error::ClusterError;
use crate::placement::split_tag;
use crate::router::not_emulated_yet;
use lists::End;

/// One key of the command: where it is in the arguments, its stored name, its master.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Key<'a> {
    pub stored: &'a [u8],
    pub shard: usize,
}

/// Runs an emulated command whose keys are `(argument index, master)`.
pub(crate) fn run<A: AsRef<[u8]>>(
    cluster: &Cluster,
    command: &str,
    args: &[A],
    placed: &[(usize, usize)],
) -> Result<Value, ClusterError> {
    let positions: Vec<usize> = placed.iter().map(|&(at, _)| at).collect();
    let keys: Vec<Key<'_>> = placed
        .iter()
        .map(|&(at, shard)| Key {
            stored: split_tag(args[at].as_ref()).stored,
            shard,
        })
        .collect();
    match command {
        "SUNION" | "SINTER" | "SDIFF" => sets::algebra(cluster, command, &keys),
        "SUNIONSTORE" | "SINTERSTORE" | "SDIFFSTORE" => {
            sets::algebra_store(cluster, &command[..command.len() - 5], keys[0], &keys[1..])
        }
        "SINTERCARD" => sets::intercard(cluster, args, &keys),
        "SMOVE" => sets::smove(cluster, keys[0], keys[1], args[3].as_ref()),
        "RENAME" => keys::rename(cluster, keys[0], keys[1], false),
        "RENAMENX" => keys::rename(cluster, keys[0], keys[1], true),
        "COPY" => keys::copy(cluster, args, keys[0], keys[1]),
        "MSETNX" => strings::msetnx(cluster, args, &keys),
        "PFCOUNT" => strings::pfcount(cluster, &keys),
        "PFMERGE" => strings::pfmerge(cluster, keys[0], &keys[1..]),
        "ZUNION" | "ZINTER" | "ZDIFF" => zsets::combine(cluster, command, args, &keys),
        "ZUNIONSTORE" | "ZINTERSTORE" | "ZDIFFSTORE" => {
            zsets::combine_store(cluster, command, args, keys[0], &keys[1..])
        }
        "ZINTERCARD" => zsets::intercard(cluster, args, &keys),
        "RPOPLPUSH" => lists::lmove(cluster, keys[0], keys[1], End::Right, End::Left),
        "LMOVE" => {
            let (from, to) = (End::parse(args[3].as_ref())?, End::parse(args[4].as_ref())?);
            lists::lmove(cluster, keys[0], keys[1], from, to)
        }
        "BRPOPLPUSH" => lists::blmove(
            cluster,
            keys[0],
            keys[1],
            (End::Right, End::Left),
            args[3].as_ref(),
        ),
        "BLMOVE" => {
            let ends = (End::parse(args[3].as_ref())?, End::parse(args[4].as_ref())?);
            lists::blmove(cluster, keys[0], keys[1], ends, args[5].as_ref())
        }
        "BLPOP" | "BRPOP" | "BZPOPMIN" | "BZPOPMAX" | "LMPOP" | "ZMPOP" | "BLMPOP" | "BZMPOP" => {
            pops::pop_first(cluster, command, args, &keys, &positions)
        }
        // The destination is the first key...
        "BITOP" | "ZRANGESTORE" | "GEOSEARCHSTORE" => {
            gather::on_destination(cluster, args, &positions, &keys, 0)
        }
        // ... or the last (STORE / STOREDIST).
        "GEORADIUS" | "GEORADIUSBYMEMBER" => {
            gather::on_destination(cluster, args, &positions, &keys, keys.len() - 1)
        }
        "SORT" | "SORT_RO" => sort::sort(cluster, command, args, &keys),
        _ => Err(not_emulated_yet(args, placed)),
    }
}

/// Replaces `destination` with what `fill` writes (`None`: the key is deleted), atomically on
/// its master: MULTI, DEL, the fill, EXEC. `Some(error reply)` when EXEC refused.
pub(crate) fn replace_key(
    cluster: &Cluster,
    destination: Key<'_>,
    fill: Option<Vec<&[u8]>>,
) -> Result<Option<Value>, ClusterError> {
    let shard = destination.shard;
    let mut batch: Vec<(usize, Vec<&[u8]>)> = vec![
        (shard, vec![b"MULTI"]),
        (shard, vec![b"DEL", destination.stored]),
    ];
    batch.extend(fill.map(|command| (shard, command)));
    batch.push((shard, vec![b"EXEC"]));
    match cluster.run_on_masters(&batch)?.pop() {
        Some(Value::Array(_)) => Ok(None),
        Some(error @ Value::ServerError(_)) => Ok(Some(error)),
        other => Err(ClusterError::Command(format!(
            "ERR EXEC answered {other:?}"
        ))),
    }
}

/// A key name for a temporary copy that no one else uses: random, and marked as ours.
pub(crate) fn temporary_name() -> String {
    use std::hash::{BuildHasher, Hasher};
    let random = || {
        std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish()
    };
    format!("rediscluster:tmp:{:016x}{:016x}", random(), random())
}

/// An error reply exactly as a server would give it (`WRONGTYPE ...`), as a value.
pub(crate) fn error_reply(line: &str) -> Value {
    // A well-formed error line always parses (the unit test below holds it to that).
    redis::parse_redis_value(format!("-{line}\r\n").as_bytes()).unwrap_or(Value::Nil)
}

pub(crate) const WRONGTYPE: &str =
    "WRONGTYPE Operation against a key holding the wrong kind of value";

#[cfg(test)]
mod tests {
    #[test]
    fn error_replies_are_server_errors() {
        let redis::Value::ServerError(e) = super::error_reply(super::WRONGTYPE) else {
            panic!("not an error reply")
        };
        assert_eq!(e.code(), "WRONGTYPE");
    }
}
