//! Planning: from an argument list to where it runs. Pure (no I/O), so every decision about
//! keys, tags and nodes is made — and every malformed command refused — before anything is sent.

use smallvec::SmallVec;

use crate::commands::{
    self, CommandSpec, Emulation, FanOutMerge, FindKeys, Flags, SessionCommand, SplitMerge,
    Strategy, display_name, key_positions_inline, sort_reads_patterns,
};
use crate::config::KeylessScripts;
use crate::error::ClusterError;
use crate::placement::{Placement, master_index};

/// Where a command runs.
#[derive(Debug, PartialEq, Eq)]
pub enum Plan<'a> {
    /// On one master (or its replica, for a read): every key maps there, or there are none.
    Single {
        shard: usize,
        /// The command only reads (Redis `readonly`), so a replica may answer it.
        read: bool,
        /// `(argument index, stored key)` for every tagged key: `bar{foo}` is sent as `bar`.
        stored_keys: Vec<(usize, &'a [u8])>,
        /// The command has keys (else `shard` is only the default node).
        keyed: bool,
        /// The argument index of the first key, if any.
        first_key: Option<usize>,
        /// The reply names a key (the table's `NAMES_KEY`): put the caller's name back.
        names_key: bool,
        /// Several keys of a command the client can compose key by key (an emulation), which
        /// the online window uses to read each key where it is.
        composable: bool,
    },
    /// Independent keys on several masters (MGET, MSET, DEL, ...): one sub-command per master,
    /// all sent before any reply is read, replies combined by `merge`.
    Split {
        merge: SplitMerge,
        read: bool,
        /// Arguments per key: 1 for `DEL k1 k2`, 2 for `MSET k1 v1 k2 v2`.
        unit: usize,
        /// Per master (ascending), the argument positions of its keys, in the caller's order.
        groups: Vec<SplitGroup>,
    },
    /// Keys on several masters of a command the client composes from per-node reads and
    /// writes (SUNIONSTORE, SMOVE, ...): not atomic across nodes.
    Emulated {
        emulation: Emulation,
        /// `(argument index, master)` of every key, in key-spec order.
        keys: Vec<(usize, usize)>,
    },
    /// On every master, replies combined by `merge`.
    FanOut { merge: FanOutMerge },
    /// SCAN: the masters one after another.
    Walk,
    /// A connection setting the client keeps for all its connections.
    Session(SessionCommand),
}

/// The keys of a split command that one master gets.
#[derive(Debug, PartialEq, Eq)]
pub struct SplitGroup {
    pub shard: usize,
    pub positions: Vec<usize>,
}

/// The master a pub/sub channel lives on: where PUBLISH goes and where subscribers listen.
pub fn channel_shard(channel: &[u8], masters: usize) -> usize {
    master_index(channel, masters)
}

/// The unit of a channel: `channel_shard`, or on a Redis Cluster the channel's slot (where
/// its shard channel lives; a PUBLISH reaches every node from any of them).
pub fn channel_unit(placement: &Placement, channel: &[u8], units: usize) -> usize {
    match placement.is_redis_cluster() {
        true => placement.master_index(channel, units),
        false => channel_shard(channel, units),
    }
}

/// The master a keyless command goes to.
pub const DEFAULT_SHARD: usize = 0;

/// `planned` for `args`, except that a script declaring no key runs on every master when
/// `mode` says so (`keyless_scripts: "every_master"`); otherwise it stays on `node_1`. Not for
/// transactions: there a keyless script runs on the transaction's master.
pub fn with_keyless_scripts<'a, A: AsRef<[u8]>>(
    planned: Plan<'a>,
    args: &[A],
    mode: KeylessScripts,
) -> Plan<'a> {
    match planned {
        Plan::Single { keyed: false, .. }
            if mode == KeylessScripts::EveryMaster
                && commands::resolve(args).is_ok_and(CommandSpec::is_script) =>
        {
            Plan::FanOut {
                merge: FanOutMerge::Combined,
            }
        }
        other => other,
    }
}

/// Decides where `args` runs among `masters` masters placed by `placement`.
pub fn plan<'a, A: AsRef<[u8]>>(
    args: &'a [A],
    placement: &Placement,
    masters: usize,
) -> Result<Plan<'a>, ClusterError> {
    plan_with(args, placement, masters, false)
}

/// The same, but a command with an emulation is composed key by key even when its keys share
/// a master (`Plan::Emulated`): how the online window reads keys that may sit on different
/// old masters.
pub fn plan_composed<'a, A: AsRef<[u8]>>(
    args: &'a [A],
    placement: &Placement,
    masters: usize,
) -> Result<Plan<'a>, ClusterError> {
    plan_with(args, placement, masters, true)
}

fn plan_with<'a, A: AsRef<[u8]>>(
    args: &'a [A],
    placement: &Placement,
    masters: usize,
    compose: bool,
) -> Result<Plan<'a>, ClusterError> {
    let spec = commands::resolve(args).map_err(|e| ClusterError::Command(e.message()))?;
    let emulation = match spec.strategy {
        Strategy::Refused(reason) => {
            return Err(ClusterError::Refused {
                command: display_name(args),
                reason,
            });
        }
        Strategy::FanOut(merge) => return Ok(Plan::FanOut { merge }),
        Strategy::Walk => return Ok(Plan::Walk),
        Strategy::Session(command) => return Ok(Plan::Session(command)),
        Strategy::Channel => {
            return Ok(Plan::Single {
                shard: channel_unit(placement, args[1].as_ref(), masters),
                read: false,
                stored_keys: Vec::new(),
                keyed: true,
                first_key: None,
                names_key: false,
                composable: false,
            });
        }
        Strategy::Emulated(emulation) => Some(emulation),
        Strategy::Single | Strategy::Split(_) => None,
    };
    // SORT's BY/GET patterns name keys from the sorted data, which may live on any master:
    // the client composes it, wherever the sorted key is.
    let reads_patterns = spec.flags.contains(Flags::DATA_KEYS) && sort_reads_patterns(args);
    let positions = key_positions_inline(spec, args)
        .map_err(|e| ClusterError::Command(e.message().to_owned()))?;
    // Inline for up to four keys: most commands plan without allocating.
    let mut placed: SmallVec<[(usize, usize); 4]> = SmallVec::with_capacity(positions.len());
    let mut stored_keys = Vec::new();
    for at in positions {
        let arg = args[at].as_ref();
        let key = placement.split(arg);
        // Only the default tag mode renames (`bar{foo}` is sent as `bar`); a rule's key and a
        // kept tag are stored under the caller's name.
        if key.stored.len() != arg.len() {
            stored_keys.push((at, key.stored));
        }
        placed.push((at, placement.route_index(key.route, masters)));
    }
    let shard = placed.first().map(|(_, shard)| *shard);
    let spans_masters = placed.iter().any(|(_, s)| Some(*s) != shard);
    if let Some(emulation) = emulation
        && (reads_patterns || spans_masters || (compose && placed.len() > 1))
    {
        return Ok(Plan::Emulated {
            emulation,
            keys: placed.into_vec(),
        });
    }
    if spans_masters {
        if let Strategy::Split(merge) = spec.strategy {
            return split(spec, args, merge, &placed);
        }
        let mut shards: Vec<usize> = placed.iter().map(|(_, s)| *s).collect();
        shards.sort_unstable();
        shards.dedup();
        return Err(ClusterError::CrossNode {
            command: display_name(args),
            nodes: shards.into_iter().map(|u| placement.unit_name(u)).collect(),
            reason: "Redis runs this command (a script too: EVAL, EVALSHA, FCALL) on one server, so its keys must share a node: give them a common hash tag (a{t}, b{t}), or place them together with a routing rule in the cluster config; per-node transactions do not apply here",
        });
    }
    // Key specs list keys spec by spec, not always in argument order, and two specs may name
    // one argument; packing wants each position once, ascending.
    stored_keys.sort_unstable_by_key(|(at, _)| *at);
    stored_keys.dedup_by_key(|(at, _)| *at);
    Ok(Plan::Single {
        shard: shard.unwrap_or(DEFAULT_SHARD),
        read: spec.is_read(),
        stored_keys,
        keyed: shard.is_some(),
        first_key: placed.first().map(|(at, _)| *at),
        names_key: spec.names_key(),
        composable: emulation.is_some() && placed.len() > 1,
    })
}

/// Groups a split command's keys by master. Each key carries `unit - 1` arguments after it
/// (MSET's values), and together they must cover the arguments exactly, as Redis requires.
fn split<A: AsRef<[u8]>>(
    spec: &CommandSpec,
    args: &[A],
    merge: SplitMerge,
    placed: &[(usize, usize)],
) -> Result<Plan<'static>, ClusterError> {
    let unit = match spec.keys.first().map(|k| k.find) {
        Some(FindKeys::Range { step, .. }) => step.max(1),
        _ => 1,
    };
    let first = placed.first().map_or(1, |(at, _)| *at);
    if first + placed.len() * unit != args.len() {
        return Err(ClusterError::Command(format!(
            "ERR wrong number of arguments for '{}' command",
            display_name(args)
        )));
    }
    Ok(Plan::Split {
        merge,
        read: spec.is_read(),
        unit,
        groups: group_by_master(placed),
    })
}

/// `(argument index, master)` pairs grouped by master (ascending), each group's positions in
/// the caller's order.
pub fn group_by_master(placed: &[(usize, usize)]) -> Vec<SplitGroup> {
    let mut groups: Vec<SplitGroup> = Vec::new();
    for &(at, shard) in placed {
        match groups.iter_mut().find(|g| g.shard == shard) {
            Some(group) => group.positions.push(at),
            None => groups.push(SplitGroup {
                shard,
                positions: vec![at],
            }),
        }
    }
    groups.sort_unstable_by_key(|g| g.shard);
    groups
}
