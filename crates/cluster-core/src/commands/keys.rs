//! Finding a command's key arguments from its key specs, the way Redis's own
//! `getKeysUsingKeySpecs` does, so that `COMMAND GETKEYS` and we always agree.

use smallvec::SmallVec;

use super::spec::{BeginSearch, CommandSpec, FindKeys, KeySpec};

/// Why the keys of a command could not be found. The messages are Redis's own, so a caller
/// sees the same error a single server would have given, and nothing is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// `numkeys` is not a non-negative integer.
    NotAnInteger,
    /// `numkeys` says more keys than there are arguments.
    TooManyKeys,
    /// `numkeys` is zero where at least one key is required.
    NoKeys,
}

impl KeyError {
    pub fn message(&self) -> &'static str {
        match self {
            KeyError::NotAnInteger => "ERR value is not an integer or out of range",
            KeyError::TooManyKeys => "ERR Number of keys can't be greater than number of args",
            KeyError::NoKeys => "ERR at least 1 input key is needed",
        }
    }
}

/// The argument indices (into `args`, where `args[0]` is the command name) that are keys, in
/// the order the specs list them. Arity must have been checked already.
pub fn key_positions<A: AsRef<[u8]>>(
    spec: &CommandSpec,
    args: &[A],
) -> Result<Vec<usize>, KeyError> {
    key_positions_inline(spec, args).map(SmallVec::into_vec)
}

/// Key positions kept inline up to a few keys: what the router plans every command with, so
/// a command of one key allocates nothing for them.
pub type Positions = SmallVec<[usize; 4]>;

/// `key_positions`, without an allocation for commands of up to four keys.
pub fn key_positions_inline<A: AsRef<[u8]>>(
    spec: &CommandSpec,
    args: &[A],
) -> Result<Positions, KeyError> {
    let mut positions = Positions::new();
    for key_spec in spec.keys {
        push_spec_keys(key_spec, args, &mut positions)?;
    }
    Ok(positions)
}

fn push_spec_keys<A: AsRef<[u8]>>(
    spec: &KeySpec,
    args: &[A],
    out: &mut Positions,
) -> Result<(), KeyError> {
    let argc = args.len() as i64;
    let Some(first) = begin_search(spec.begin, args) else {
        return Ok(()); // keyword absent: this spec contributes no key
    };
    let (first, last, step) = match spec.find {
        FindKeys::Range {
            last_key,
            step,
            limit,
        } => {
            let last = if last_key >= 0 {
                first + last_key as i64
            } else if limit <= 1 {
                argc + last_key as i64
            } else {
                first + ((argc - first) / limit as i64 + last_key as i64)
            };
            (first, last, step as i64)
        }
        FindKeys::KeyNum {
            key_num_index,
            first_key,
            step,
        } => {
            let num_at = first + key_num_index as i64;
            if num_at >= argc {
                return Err(KeyError::NotAnInteger);
            }
            let num_keys = parse_count(args[num_at as usize].as_ref())?;
            let start = first + first_key as i64;
            // As Redis computes it: the count bounds the last index, the step only strides.
            let last = start + num_keys - 1;
            if num_keys > 0 && last >= argc {
                return Err(KeyError::TooManyKeys);
            }
            (start, last, step as i64)
        }
    };
    let mut i = first;
    while i <= last {
        if i >= argc || i < 1 {
            if spec.incomplete {
                break;
            }
            // Arity was checked, so a range reaching past the end is a malformed command.
            return Err(KeyError::TooManyKeys);
        }
        out.push(i as usize);
        i += step.max(1);
    }
    Ok(())
}

/// The index of the first key, or `None` when a keyword search finds no keyword.
fn begin_search<A: AsRef<[u8]>>(begin: BeginSearch, args: &[A]) -> Option<i64> {
    match begin {
        BeginSearch::Index(i) => Some(i as i64),
        BeginSearch::SortStore => sort_store(args).map(|i| i as i64),
        BeginSearch::Keyword {
            keyword,
            start_from,
        } => {
            let argc = args.len() as i64;
            // As Redis's getKeysUsingKeySpecs: the search runs from `start` up to, but not
            // including, `end` (the last argument forwards, argument 1 backwards).
            let start = if start_from > 0 {
                start_from as i64
            } else {
                argc + start_from as i64
            };
            let end = if start_from > 0 { argc - 1 } else { 1 };
            let delta = if start <= end { 1 } else { -1 };
            let mut i = start;
            while i != end {
                if i >= argc || i < 1 {
                    return None;
                }
                if args[i as usize]
                    .as_ref()
                    .eq_ignore_ascii_case(keyword.as_bytes())
                {
                    return Some(i + 1);
                }
                i += delta;
            }
            None
        }
    }
}

/// SORT's options that take arguments, and how many (Redis's `sortGetKeys` skip list).
const SORT_OPTIONS: [(&[u8], usize); 3] = [(b"LIMIT", 2), (b"GET", 1), (b"BY", 1)];

/// The index of SORT's STORE destination (the last STORE wins, as in Redis).
fn sort_store<A: AsRef<[u8]>>(args: &[A]) -> Option<usize> {
    let mut store = None;
    let mut i = 2;
    while i < args.len() {
        let arg = args[i].as_ref();
        if let Some((_, skip)) = SORT_OPTIONS
            .iter()
            .find(|(name, _)| arg.eq_ignore_ascii_case(name))
        {
            i += skip;
        } else if arg.eq_ignore_ascii_case(b"STORE") && i + 1 < args.len() {
            store = Some(i + 1);
            i += 1;
        }
        i += 1;
    }
    store
}

/// Does this SORT read other keys through BY or GET patterns? A pattern reads keys only when
/// it holds a `*` (Redis ignores patterns without one, and `GET #` is the element itself).
pub fn sort_reads_patterns<A: AsRef<[u8]>>(args: &[A]) -> bool {
    let mut i = 2;
    while i < args.len() {
        let arg = args[i].as_ref();
        if arg.eq_ignore_ascii_case(b"LIMIT") {
            i += 2;
        } else if (arg.eq_ignore_ascii_case(b"BY") || arg.eq_ignore_ascii_case(b"GET"))
            && args.get(i + 1).is_some_and(|p| p.as_ref().contains(&b'*'))
        {
            return true;
        } else if arg.eq_ignore_ascii_case(b"BY") || arg.eq_ignore_ascii_case(b"GET") {
            i += 1;
        }
        i += 1;
    }
    false
}

/// A key count as Redis parses it: a plain non-negative decimal integer.
fn parse_count(arg: &[u8]) -> Result<i64, KeyError> {
    let text = std::str::from_utf8(arg).map_err(|_| KeyError::NotAnInteger)?;
    let n: i64 = text.parse().map_err(|_| KeyError::NotAnInteger)?;
    if n < 0 {
        return Err(KeyError::NotAnInteger);
    }
    Ok(n)
}
