//! Planning: from an argument list to where it runs. Pure (no I/O), so every decision about
//! keys, tags and nodes is made — and every malformed command refused — before anything is sent.

use crate::commands::{
    self, CommandSpec, FindKeys, Flags, Merge, SessionCommand, Strategy, key_positions,
    sort_reads_patterns,
};
use crate::error::ClusterError;
use crate::placement::{master_index, node_name, split_tag};

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
    },
    /// Independent keys on several masters (MGET, MSET, DEL, ...): one sub-command per master,
    /// all sent before any reply is read, replies combined by `merge`.
    Split {
        merge: Merge,
        read: bool,
        /// Arguments per key: 1 for `DEL k1 k2`, 2 for `MSET k1 v1 k2 v2`.
        unit: usize,
        /// Per master (ascending), the argument positions of its keys, in the caller's order.
        groups: Vec<SplitGroup>,
    },
    /// Keys on several masters of a command the client composes from per-node reads and
    /// writes (SUNIONSTORE, SMOVE, ...): not atomic across nodes.
    Emulated {
        /// The table's name of the command (upper case).
        command: &'static str,
        /// `(argument index, master)` of every key, in key-spec order.
        keys: Vec<(usize, usize)>,
    },
    /// On every master, replies combined by `merge`.
    FanOut { merge: Merge },
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

/// The master a keyless command goes to.
pub const DEFAULT_SHARD: usize = 0;

/// Decides where `args` runs among `masters` masters.
pub fn plan<A: AsRef<[u8]>>(args: &[A], masters: usize) -> Result<Plan<'_>, ClusterError> {
    let spec = resolve(args)?;
    match spec.strategy {
        Strategy::Refused(reason) => {
            return Err(ClusterError::Refused {
                command: display_name(args),
                reason,
            });
        }
        Strategy::FanOut(merge) => return Ok(Plan::FanOut { merge }),
        Strategy::Session(command) => return Ok(Plan::Session(command)),
        Strategy::Channel => {
            return Ok(Plan::Single {
                shard: channel_shard(args[1].as_ref(), masters),
                read: false,
                stored_keys: Vec::new(),
                keyed: true,
                first_key: None,
            });
        }
        Strategy::Single | Strategy::Split(_) | Strategy::Emulated => {}
    }
    // SORT's BY/GET patterns name keys from the sorted data, which may live on any master:
    // the client composes it, wherever the sorted key is.
    let reads_patterns = spec.flags.contains(Flags::DATA_KEYS) && sort_reads_patterns(args);
    let positions =
        key_positions(spec, args).map_err(|e| ClusterError::Command(e.message().to_owned()))?;
    let mut placed = Vec::with_capacity(positions.len());
    let mut stored_keys = Vec::new();
    for at in positions {
        let key = split_tag(args[at].as_ref());
        if key.is_tagged() {
            stored_keys.push((at, key.stored));
        }
        placed.push((at, master_index(key.route, masters)));
    }
    let shard = placed.first().map(|(_, shard)| *shard);
    if reads_patterns {
        return Ok(Plan::Emulated {
            command: spec.name,
            keys: placed,
        });
    }
    if placed.iter().any(|(_, s)| Some(*s) != shard) {
        match spec.strategy {
            Strategy::Split(merge) => return split(spec, args, merge, &placed),
            Strategy::Emulated => {
                return Ok(Plan::Emulated {
                    command: spec.name,
                    keys: placed,
                });
            }
            _ => {}
        }
        let mut shards: Vec<usize> = placed.iter().map(|(_, s)| *s).collect();
        shards.sort_unstable();
        shards.dedup();
        return Err(ClusterError::CrossNode {
            command: display_name(args),
            nodes: shards.into_iter().map(node_name).collect(),
            reason: "Redis runs this command on one server, so its keys must share a node: give them a common hash tag (a{t}, b{t})",
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
    })
}

/// Groups a split command's keys by master. Each key carries `unit - 1` arguments after it
/// (MSET's values), and together they must cover the arguments exactly, as Redis requires.
fn split<A: AsRef<[u8]>>(
    spec: &CommandSpec,
    args: &[A],
    merge: Merge,
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
    Ok(Plan::Split {
        merge,
        read: spec.is_read(),
        unit,
        groups,
    })
}

/// The table row for `args`, with arity checked — Redis's own error messages otherwise.
fn resolve<A: AsRef<[u8]>>(args: &[A]) -> Result<&'static CommandSpec, ClusterError> {
    let Some(name) = args.first() else {
        return Err(ClusterError::Command("ERR empty command".to_owned()));
    };
    let Some(command) = commands::command(name.as_ref()) else {
        let mut message = format!(
            "ERR unknown command '{}', with args beginning with: ",
            String::from_utf8_lossy(name.as_ref())
        );
        for arg in &args[1..] {
            message.push_str(&format!("'{}' ", String::from_utf8_lossy(arg.as_ref())));
        }
        return Err(ClusterError::Command(message));
    };
    let spec = match (command.subcommands.is_empty(), args.get(1)) {
        (true, _) | (false, None) => command,
        (false, Some(sub)) => commands::subcommand(command, sub.as_ref()).ok_or_else(|| {
            ClusterError::Command(format!(
                "ERR unknown subcommand '{}'. Try {} HELP.",
                String::from_utf8_lossy(sub.as_ref()),
                command.name
            ))
        })?,
    };
    if !commands::arity_ok(spec, args.len()) {
        return Err(ClusterError::Command(format!(
            "ERR wrong number of arguments for '{}' command",
            display_name(args)
        )));
    }
    Ok(spec)
}

/// `get`, `config|get`: how Redis names a command in its errors.
fn display_name<A: AsRef<[u8]>>(args: &[A]) -> String {
    let name = String::from_utf8_lossy(args[0].as_ref()).to_ascii_lowercase();
    match commands::command(args[0].as_ref()) {
        Some(command) if !command.subcommands.is_empty() && args.len() > 1 => {
            format!(
                "{name}|{}",
                String::from_utf8_lossy(args[1].as_ref()).to_ascii_lowercase()
            )
        }
        _ => name,
    }
}

/// The error for an emulated command whose cross-node form is not written yet: nothing sent.
pub fn not_emulated_yet<A: AsRef<[u8]>>(args: &[A], keys: &[(usize, usize)]) -> ClusterError {
    let mut shards: Vec<usize> = keys.iter().map(|(_, s)| *s).collect();
    shards.sort_unstable();
    shards.dedup();
    ClusterError::CrossNode {
        command: display_name(args),
        nodes: shards.into_iter().map(node_name).collect(),
        reason: "running it across nodes is not supported yet, nothing was sent; give the keys a common hash tag (a{t}, b{t}) to run it on one node",
    }
}
