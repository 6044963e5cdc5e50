//! The command table: every Redis 7.0 command, what it is, where its keys are and how the
//! cluster runs it. Data lives in `table.rs` (generated); this module finds rows and their
//! keys. It is the only place in the engine where a command's name is compared: everything
//! else asks the table.

mod keys;
mod spec;
mod table;

pub use keys::{KeyError, Positions, key_positions, key_positions_inline, sort_reads_patterns};
pub use spec::{
    BeginSearch, CommandSpec, Destination, Emulation, End, Extreme, FanOutMerge, FindKeys, Flags,
    KeySpec, Pop, SessionCommand, SetOp, SplitMerge, Strategy, TimeoutAt,
};
pub use table::COMMANDS;

/// Longest command or subcommand name in the table, with room to spare; longer names are
/// unknown without looking.
const MAX_NAME: usize = 32;

/// Why a command line has no row: Redis's own messages, so a caller sees the error a single
/// server would have given, and nothing is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResolveError {
    Empty,
    UnknownCommand(String),
    UnknownSubcommand(String),
    WrongArity(String),
}

impl ResolveError {
    pub fn message(&self) -> String {
        match self {
            ResolveError::Empty => "ERR empty command".to_owned(),
            ResolveError::UnknownCommand(message)
            | ResolveError::UnknownSubcommand(message)
            | ResolveError::WrongArity(message) => message.clone(),
        }
    }
}

/// The row for a command line (`args[0]` is the name, any case), descending into a container
/// command's subcommand (`CONFIG GET`), with its arity checked: what the router plans with.
pub fn resolve<A: AsRef<[u8]>>(args: &[A]) -> Result<&'static CommandSpec, ResolveError> {
    let Some(name) = args.first() else {
        return Err(ResolveError::Empty);
    };
    let Some(command) = command(name.as_ref()) else {
        let mut message = format!(
            "ERR unknown command '{}', with args beginning with: ",
            String::from_utf8_lossy(name.as_ref())
        );
        for arg in &args[1..] {
            message.push_str(&format!("'{}' ", String::from_utf8_lossy(arg.as_ref())));
        }
        return Err(ResolveError::UnknownCommand(message));
    };
    let spec = match (command.subcommands.is_empty(), args.get(1)) {
        (true, _) | (false, None) => command,
        (false, Some(sub)) => subcommand(command, sub.as_ref()).ok_or_else(|| {
            ResolveError::UnknownSubcommand(format!(
                "ERR unknown subcommand '{}'. Try {} HELP.",
                String::from_utf8_lossy(sub.as_ref()),
                command.name
            ))
        })?,
    };
    if !arity_ok(spec, args.len()) {
        return Err(ResolveError::WrongArity(format!(
            "ERR wrong number of arguments for '{}' command",
            display_name(args)
        )));
    }
    Ok(spec)
}

/// The top-level row for a command name, any case: a hash lookup, since every command of every
/// call, and of every command of a pipeline, starts here (a binary search cost a pipeline of
/// 10k SETs a fifth of its planning).
pub fn command(name: &[u8]) -> Option<&'static CommandSpec> {
    if name.len() > MAX_NAME {
        return None;
    }
    let mut upper = [0u8; MAX_NAME];
    let upper = &mut upper[..name.len()];
    upper.copy_from_slice(name);
    upper.make_ascii_uppercase();
    let slots = command_index();
    let mask = slots.len() - 1;
    let mut slot = name_hash(upper) & mask;
    loop {
        let row = slots[slot];
        if row == EMPTY_SLOT {
            return None;
        }
        let spec = &COMMANDS[row as usize];
        if spec.name.as_bytes() == upper {
            return Some(spec);
        }
        slot = (slot + 1) & mask;
    }
}

const EMPTY_SLOT: u16 = u16::MAX;

/// Open addressing over the top-level rows, at most a quarter full.
fn command_index() -> &'static [u16] {
    static INDEX: std::sync::OnceLock<Box<[u16]>> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| {
        let size = (COMMANDS.len() * 4).next_power_of_two();
        let mut slots = vec![EMPTY_SLOT; size];
        for (row, spec) in COMMANDS.iter().enumerate() {
            let mut slot = name_hash(spec.name.as_bytes()) & (size - 1);
            while slots[slot] != EMPTY_SLOT {
                slot = (slot + 1) & (size - 1);
            }
            slots[slot] = u16::try_from(row).expect("fewer than 65535 commands");
        }
        slots.into_boxed_slice()
    })
}

/// FNV-1a of an upper-case name.
fn name_hash(name: &[u8]) -> usize {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in name {
        hash ^= u32::from(*byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash as usize
}

/// The row of a container's subcommand (`GET` of `CONFIG`), any case.
pub fn subcommand(container: &'static CommandSpec, name: &[u8]) -> Option<&'static CommandSpec> {
    find(container.subcommands, name)
}

/// `get`, `config|get`: how Redis names a command in its errors.
pub fn display_name<A: AsRef<[u8]>>(args: &[A]) -> String {
    let Some(first) = args.first() else {
        return String::new();
    };
    let name = String::from_utf8_lossy(first.as_ref()).to_ascii_lowercase();
    match command(first.as_ref()) {
        Some(command) if !command.subcommands.is_empty() && args.len() > 1 => {
            format!(
                "{name}|{}",
                String::from_utf8_lossy(args[1].as_ref()).to_ascii_lowercase()
            )
        }
        _ => name,
    }
}

/// Where a packed redis-rs pipeline marks a transaction: MULTI first, EXEC last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransactionMark {
    Multi,
    Exec,
}

/// Is this command line MULTI or EXEC (any case)?
pub fn transaction_mark<A: AsRef<[u8]>>(args: &[A]) -> Option<TransactionMark> {
    let row = command(args.first()?.as_ref())?;
    match row.name {
        "MULTI" => Some(TransactionMark::Multi),
        "EXEC" => Some(TransactionMark::Exec),
        _ => None,
    }
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
    rows.binary_search_by(|row| compare_short(row.name.as_bytes(), upper))
        .ok()
        .map(|i| &rows[i])
}

/// `a.cmp(b)` for names of a few bytes, without a call to `memcmp` per probe: a pipeline of
/// 10k SETs spent a third of its planning in the table's binary search (callgrind).
#[inline]
fn compare_short(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let mut i = 0;
    while i < a.len() && i < b.len() {
        if a[i] != b[i] {
            return a[i].cmp(&b[i]);
        }
        i += 1;
    }
    a.len().cmp(&b.len())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_found_by_its_name_in_any_case_and_nothing_else_is() {
        for spec in COMMANDS {
            let lower = spec.name.to_ascii_lowercase();
            assert!(std::ptr::eq(command(spec.name.as_bytes()).unwrap(), spec));
            assert!(std::ptr::eq(command(lower.as_bytes()).unwrap(), spec));
            for sub in spec.subcommands {
                assert!(std::ptr::eq(
                    subcommand(spec, sub.name.as_bytes()).unwrap(),
                    sub
                ));
            }
        }
        for unknown in ["", "SETX", "GE", "NOSUCHCOMMAND", "set ", "\u{e9}"] {
            assert!(command(unknown.as_bytes()).is_none(), "{unknown:?}");
        }
        assert!(command(&[b'A'; 200]).is_none());
    }
}
