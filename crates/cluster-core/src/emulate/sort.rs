//! SORT and SORT_RO composed by the client, for BY/GET patterns (whose keys, named by the
//! sorted data, may live on any master) and for a STORE destination on another master. The
//! elements come from the sorted key's master; every pattern key is placed by the contract
//! (tags honoured) and read where it lives; sorting, LIMIT and GET follow Redis's `sort.c`:
//! numeric by default (ties broken by the element's bytes), ALPHA by bytes, a missing weight
//! counts as 0 (or sorts first with ALPHA), a pattern without `*` means "do not sort", and
//! `->field` reads a hash field. STORE replaces the destination atomically on its master.

use std::cmp::Ordering;

use redis::Value;

use super::common::{Key, WRONGTYPE, error_reply, read_key, read_keys, replace_key};
use crate::error::ClusterError;
use crate::executor::Executor;

/// The options of one SORT call.
struct Options<'a> {
    by: Option<&'a [u8]>,
    gets: Vec<&'a [u8]>,
    limit: Option<(i64, i64)>,
    desc: bool,
    alpha: bool,
    store: bool,
}

fn syntax_error() -> ClusterError {
    ClusterError::Command("ERR syntax error".to_owned())
}

fn parse<A: AsRef<[u8]>>(args: &[A], read_only: bool) -> Result<Options<'_>, ClusterError> {
    let mut options = Options {
        by: None,
        gets: Vec::new(),
        limit: None,
        desc: false,
        alpha: false,
        store: false,
    };
    let integer = |arg: &[u8]| -> Result<i64, ClusterError> {
        std::str::from_utf8(arg)
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| {
                ClusterError::Command("ERR value is not an integer or out of range".to_owned())
            })
    };
    let mut i = 2;
    while i < args.len() {
        let word = args[i].as_ref();
        let next = args.get(i + 1).map(AsRef::as_ref);
        if word.eq_ignore_ascii_case(b"ASC") {
            options.desc = false;
        } else if word.eq_ignore_ascii_case(b"DESC") {
            options.desc = true;
        } else if word.eq_ignore_ascii_case(b"ALPHA") {
            options.alpha = true;
        } else if word.eq_ignore_ascii_case(b"LIMIT") && i + 2 < args.len() {
            options.limit = Some((
                integer(args[i + 1].as_ref())?,
                integer(args[i + 2].as_ref())?,
            ));
            i += 2;
        } else if word.eq_ignore_ascii_case(b"STORE") && next.is_some() && !read_only {
            options.store = true;
            i += 1;
        } else if word.eq_ignore_ascii_case(b"BY") && next.is_some() {
            options.by = next;
            i += 1;
        } else if word.eq_ignore_ascii_case(b"GET") && next.is_some() {
            options.gets.extend(next);
            i += 1;
        } else {
            return Err(syntax_error());
        }
        i += 1;
    }
    Ok(options)
}

/// A pattern with its first `*` replaced by `element`: the key to read and, after `->`, the
/// hash field. `None` when the pattern has no `*` (Redis reads nothing then).
fn substitute(pattern: &[u8], element: &[u8]) -> Option<Lookup> {
    let star = pattern.iter().position(|&b| b == b'*')?;
    let arrow = pattern[star + 1..]
        .windows(2)
        .position(|w| w == b"->")
        .map(|at| star + 1 + at)
        .filter(|&at| at + 2 < pattern.len());
    let key_end = arrow.unwrap_or(pattern.len());
    let mut key = pattern[..star].to_vec();
    key.extend_from_slice(element);
    key.extend_from_slice(&pattern[star + 1..key_end]);
    Some((key, arrow.map(|at| pattern[at + 2..].to_vec())))
}

/// A pattern key to read and, for `->field`, the hash field.
type Lookup = (Vec<u8>, Option<Vec<u8>>);

/// The elements to sort, and whether they come from a set (no order of their own).
type Elements = (Vec<Vec<u8>>, bool);

/// Reads the value each pattern names for each element (every master at once, each key
/// placed by the contract, tags honoured): `None` for a missing key, a key of the wrong type,
/// or a pattern without `*`.
fn lookup(
    executor: &Executor,
    pattern: &[u8],
    elements: &[Vec<u8>],
) -> Result<Vec<Option<Vec<u8>>>, ClusterError> {
    if pattern == b"#" {
        return Ok(elements.iter().cloned().map(Some).collect());
    }
    let lookups: Vec<Option<Lookup>> = elements.iter().map(|e| substitute(pattern, e)).collect();
    let masters = executor.unit_count();
    let reads: Vec<(Key<'_>, Vec<&[u8]>)> = lookups
        .iter()
        .flatten()
        .map(|(key, field)| {
            let key = executor.placement().place(key, masters);
            match field {
                Some(field) => (key, vec![&b"HGET"[..], key.stored, field]),
                None => (key, vec![&b"GET"[..], key.stored]),
            }
        })
        .collect();
    let mut replies = read_keys(executor, &reads)?.into_iter();
    let mut values = Vec::with_capacity(elements.len());
    for found in &lookups {
        values.push(match found {
            None => None,
            Some(_) => match replies.next() {
                Some(Value::BulkString(value)) => Some(value),
                _ => None, // missing, or WRONGTYPE: Redis reads it as missing
            },
        });
    }
    Ok(values)
}

/// The elements of the key to sort, with Redis's check of its type.
fn elements(executor: &Executor, key: Key<'_>) -> Result<Result<Elements, Value>, ClusterError> {
    let kind = read_key(executor, key, vec![&b"TYPE"[..], key.stored])?;
    let (read, is_set): (Vec<&[u8]>, bool) = match &kind {
        Value::SimpleString(t) if t == "none" => return Ok(Ok((Vec::new(), false))),
        Value::SimpleString(t) if t == "list" => (vec![b"LRANGE", key.stored, b"0", b"-1"], false),
        Value::SimpleString(t) if t == "set" => (vec![b"SMEMBERS", key.stored], true),
        Value::SimpleString(t) if t == "zset" => (vec![b"ZRANGE", key.stored, b"0", b"-1"], false),
        Value::SimpleString(_) => return Ok(Err(error_reply(WRONGTYPE))),
        other => return Ok(Err(other.clone())),
    };
    match read_key(executor, key, read)? {
        Value::Array(items) | Value::Set(items) => Ok(Ok((
            items
                .into_iter()
                .filter_map(|v| match v {
                    Value::BulkString(b) => Some(b),
                    _ => None,
                })
                .collect(),
            is_set,
        ))),
        other => Ok(Err(other)),
    }
}

/// A score as Redis's `strtod` check accepts it.
fn score(text: &[u8]) -> Option<f64> {
    let value: f64 = std::str::from_utf8(text).ok()?.trim_start().parse().ok()?;
    (!value.is_nan()).then_some(value)
}

/// SORT / SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
/// [STORE destination]; `keys[0]` is the sorted key, `keys[1]` the destination if any.
pub fn sort<A: AsRef<[u8]>>(
    executor: &Executor,
    read_only: bool,
    args: &[A],
    keys: &[Key<'_>],
) -> Result<Value, ClusterError> {
    let options = parse(args, read_only)?;
    let (mut items, is_set) = match elements(executor, keys[0])? {
        Ok(found) => found,
        Err(reply) => return Ok(reply),
    };
    let mut dont_sort = options.by.is_some_and(|p| !p.contains(&b'*'));
    let mut alpha = options.alpha;
    let mut by = options.by;
    if dont_sort && is_set && options.store {
        // Redis sorts a set anyway when storing, so the stored list is deterministic.
        (dont_sort, alpha, by) = (false, true, None);
    }
    if dont_sort && options.desc && !is_set {
        // Unsorted, a list or sorted set is read in its own order, from the end for DESC.
        items.reverse();
    }
    if !dont_sort {
        let weights = match by {
            Some(pattern) => lookup(executor, pattern, &items)?,
            None => items.iter().cloned().map(Some).collect(),
        };
        let mut scored: Vec<(Vec<u8>, Option<Vec<u8>>, f64)> = Vec::with_capacity(items.len());
        for (item, weight) in items.into_iter().zip(weights) {
            let number = match (&weight, alpha) {
                (Some(text), false) => score(text).ok_or_else(|| {
                    ClusterError::Command(
                        "ERR One or more scores can't be converted into double".to_owned(),
                    )
                })?,
                _ => 0.0,
            };
            scored.push((item, weight, number));
        }
        let by_pattern = by.is_some();
        scored.sort_by(|a, b| {
            let order = if !alpha {
                a.2.partial_cmp(&b.2)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| a.0.cmp(&b.0))
            } else if by_pattern {
                match (&a.1, &b.1) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(x), Some(y)) => x.cmp(y),
                }
            } else {
                a.0.cmp(&b.0)
            };
            if options.desc { order.reverse() } else { order }
        });
        items = scored.into_iter().map(|(item, _, _)| item).collect();
    }

    // LIMIT, clamped as Redis clamps it.
    let (start, count) = options.limit.unwrap_or((0, -1));
    let start = usize::try_from(start.max(0))
        .unwrap_or(usize::MAX)
        .min(items.len());
    let end = match usize::try_from(count) {
        Ok(count) => start.saturating_add(count).min(items.len()),
        Err(_) => items.len(),
    };
    let window = &items[start..end];

    let output: Vec<Option<Vec<u8>>> = if options.gets.is_empty() {
        window.iter().cloned().map(Some).collect()
    } else {
        let columns = options
            .gets
            .iter()
            .map(|pattern| lookup(executor, pattern, window))
            .collect::<Result<Vec<_>, _>>()?;
        (0..window.len())
            .flat_map(|row| columns.iter().map(move |column| column[row].clone()))
            .collect()
    };

    if !options.store {
        return Ok(Value::Array(
            output
                .into_iter()
                .map(|v| v.map_or(Value::Nil, Value::BulkString))
                .collect(),
        ));
    }
    let destination = keys[keys.len() - 1];
    let stored = output.len() as i64;
    // A missing GET value is stored as an empty string, as Redis does.
    let values: Vec<Vec<u8>> = output.into_iter().map(Option::unwrap_or_default).collect();
    let fill = (!values.is_empty()).then(|| {
        let mut push: Vec<&[u8]> = vec![b"RPUSH", destination.stored];
        push.extend(values.iter().map(Vec::as_slice));
        push
    });
    match replace_key(executor, destination, fill)? {
        Some(error) => Ok(error),
        None => Ok(Value::Int(stored)),
    }
}
