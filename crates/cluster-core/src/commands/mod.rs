//! The command table: every Redis 7.0 command, what it is, where its keys are and how the
//! cluster runs it. Data lives in `table.rs`; this module finds rows and their keys.

mod keys;
mod spec;
mod table;

pub use keys::{KeyError, key_positions, sort_reads_patterns};
pub use spec::{
    BeginSearch, CommandSpec, FindKeys, Flags, KeySpec, Merge, SessionCommand, Strategy,
};
pub use table::COMMANDS;

/// Longest command or subcommand name in the table, with room to spare; longer names are
/// unknown without looking.
const MAX_NAME: usize = 32;

/// The row for a command line (`args[0]` is the name, any case), descending into a container
/// command's subcommand (`CONFIG GET`) when it has one. `None` for an unknown command;
/// `Some(container)` when the subcommand is missing or unknown, so arity checks can report it.
pub fn lookup<A: AsRef<[u8]>>(args: &[A]) -> Option<&'static CommandSpec> {
    let command = command(args.first()?.as_ref())?;
    match args.get(1) {
        Some(sub) => Some(subcommand(command, sub.as_ref()).unwrap_or(command)),
        None => Some(command),
    }
}

/// The top-level row for a command name, any case.
pub fn command(name: &[u8]) -> Option<&'static CommandSpec> {
    find(COMMANDS, name)
}

/// The row of a container's subcommand (`GET` of `CONFIG`), any case.
pub fn subcommand(container: &'static CommandSpec, name: &[u8]) -> Option<&'static CommandSpec> {
    find(container.subcommands, name)
}

/// Binary search of a name-sorted slice, comparing case-insensitively without allocating.
fn find(rows: &'static [CommandSpec], name: &[u8]) -> Option<&'static CommandSpec> {
    if name.len() > MAX_NAME {
        return None;
    }
    let mut upper = [0u8; MAX_NAME];
    let upper = &mut upper[..name.len()];
    upper.copy_from_slice(name);
    upper.make_ascii_uppercase();
    rows.binary_search_by(|row| row.name.as_bytes().cmp(upper))
        .ok()
        .map(|i| &rows[i])
}

/// Does `args` have a number of arguments the command accepts (Redis arity rules)?
pub fn arity_ok(spec: &CommandSpec, argc: usize) -> bool {
    let arity = spec.arity;
    if arity >= 0 {
        argc == arity as usize
    } else {
        argc >= arity.unsigned_abs() as usize
    }
}
