//! Planning: from an argument list to where it runs. Pure (no I/O), so every decision about
//! keys, tags and nodes is made — and every malformed command refused — before anything is sent.

use crate::commands::{
    self, CommandSpec, Flags, Merge, Strategy, key_positions, sort_reads_patterns,
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
    },
    /// On every master, replies combined by `merge`.
    FanOut { merge: Merge },
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
        Strategy::Single | Strategy::Split(_) | Strategy::Emulated => {}
    }
    if spec.flags.contains(Flags::DATA_KEYS) && sort_reads_patterns(args) {
        return Err(ClusterError::Refused {
            command: display_name(args),
            reason: "BY/GET patterns read keys named by the sorted data, which may live on any node; \
                     sort without patterns (BY nosort, GET #) or fetch those keys separately",
        });
    }
    let positions =
        key_positions(spec, args).map_err(|e| ClusterError::Command(e.message().to_owned()))?;
    let mut shard = None;
    let mut other_shards = Vec::new();
    let mut stored_keys = Vec::new();
    for at in positions {
        let key = split_tag(args[at].as_ref());
        if key.is_tagged() {
            stored_keys.push((at, key.stored));
        }
        let this = master_index(key.route, masters);
        match shard {
            None => shard = Some(this),
            Some(first) if first != this && !other_shards.contains(&this) => {
                other_shards.push(this)
            }
            Some(_) => {}
        }
    }
    if !other_shards.is_empty() {
        let mut shards: Vec<usize> = other_shards;
        shards.extend(shard);
        shards.sort_unstable();
        return Err(ClusterError::CrossNode {
            command: display_name(args),
            nodes: shards.into_iter().map(node_name).collect(),
            reason: cross_node_reason(spec.strategy),
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

fn cross_node_reason(strategy: Strategy) -> &'static str {
    match strategy {
        Strategy::Single => {
            "Redis runs this command on one server, so its keys must share a node: give them a common hash tag (a{t}, b{t})"
        }
        _ => {
            "running it across nodes is not supported yet, nothing was sent; give the keys a common hash tag (a{t}, b{t}) to run it on one node"
        }
    }
}
