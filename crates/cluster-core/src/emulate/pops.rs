//! Pops from the first non-empty of several keys on several masters: BLPOP, BRPOP,
//! BZPOPMIN, BZPOPMAX, LMPOP, ZMPOP, BLMPOP, BZMPOP. The keys are tried in the caller's order,
//! each with the single-key pop on its own master (atomic there), so the first key that has
//! elements gives them, as on one server. A blocking form whose keys are all empty polls them
//! (backing off from 2 ms to 50 ms) until one has an element or the timeout passes: not
//! atomic across nodes, and never a lost element, since only one pop is sent at a time.

use std::time::{Duration, Instant};

use redis::Value;

use super::common::Key;
use crate::commands::{End, Extreme, Pop, TimeoutAt};
use crate::error::ClusterError;
use crate::executor::Executor;
use crate::interrupt;

/// The longest pause between two polls of the keys.
const MAX_POLL_PAUSE: Duration = Duration::from_millis(50);

/// The single-key command each key gets on its own master.
fn single_key_command(pop: Pop) -> &'static [u8] {
    match pop {
        Pop::List(End::Left) => b"LPOP",
        Pop::List(End::Right) => b"RPOP",
        Pop::SortedSet(Extreme::Min) => b"ZPOPMIN",
        Pop::SortedSet(Extreme::Max) => b"ZPOPMAX",
        Pop::ListMany => b"LMPOP",
        Pop::SortedSetMany => b"ZMPOP",
    }
}

/// Runs one of the pop commands above; `keys` in the caller's order.
pub fn pop_first<A: AsRef<[u8]>>(
    executor: &Executor,
    pop: Pop,
    timeout_at: TimeoutAt,
    args: &[A],
    keys: &[Key<'_>],
    positions: &[usize],
) -> Result<Value, ClusterError> {
    // What follows the keys (LEFT/RIGHT/MIN/MAX, COUNT n) for the multi-pops.
    let after_keys: Vec<&[u8]> = match positions.last() {
        Some(&last) => args[last + 1..].iter().map(AsRef::as_ref).collect(),
        None => Vec::new(),
    };
    let single = single_key_command(pop);
    let timeout: Option<&[u8]> = match timeout_at {
        TimeoutAt::Nowhere => None,
        TimeoutAt::Last => Some(args[args.len() - 1].as_ref()),
        TimeoutAt::First => Some(args[1].as_ref()),
    };
    let multi = matches!(pop, Pop::ListMany | Pop::SortedSetMany);
    let deadline = match timeout {
        None => None,
        Some(text) => Some(parse_timeout(text)?),
    };
    // A blocking wait longer than the read timeout fails as it would on one server: the
    // poll is cut at the read timeout of the first key's master, with a timeout error.
    let master = executor.master(keys[0].shard).config().clone();
    let cut = match (deadline, master.read_timeout) {
        (Some(wait), Some(limit)) => {
            let cut = Instant::now() + limit;
            wait.is_none_or(|wait| wait > cut).then_some(cut)
        }
        _ => None,
    };
    let mut pause = Duration::from_millis(2);
    loop {
        // Before a round of polls, not only after one: a call cancelled while it slept sends
        // no more pops (one could take an element nobody would receive).
        if deadline.is_some() && interrupt::requested() {
            return Err(ClusterError::Interrupted { node: master.name });
        }
        for (key, &at) in keys.iter().zip(positions) {
            // The reply names the key as the caller wrote it (`queue{user1}`), not its stored
            // name, which several tagged keys may share.
            let name = || Value::BulkString(args[at].as_ref().to_vec());
            let mut one: Vec<&[u8]> = vec![single];
            if multi {
                one.extend([&b"1"[..], key.stored]);
                one.extend(after_keys.iter().copied());
            } else {
                one.push(key.stored);
            }
            // A poll answers at once: shielded, so that an element it popped is never lost
            // to a signal or a cancel arriving meanwhile (they are seen between polls).
            let reply =
                interrupt::shielded(|| executor.run_on_masters(&[(key.shard, one)]))?.remove(0);
            match (pop, reply) {
                (_, Value::Nil) => continue,
                (_, error @ Value::ServerError(_)) => return Ok(error),
                (Pop::List(_), element) => return Ok(Value::Array(vec![name(), element])),
                (Pop::SortedSet(_), Value::Array(pair)) if pair.is_empty() => continue,
                (Pop::SortedSet(_), Value::Array(pair)) => {
                    let mut reply = vec![name()];
                    reply.extend(pair);
                    return Ok(Value::Array(reply));
                }
                (_, Value::Array(mut found)) if !found.is_empty() => {
                    found[0] = name();
                    return Ok(Value::Array(found));
                }
                (_, other) => return Ok(other),
            }
        }
        let now = Instant::now();
        if cut.is_some_and(|cut| now >= cut) {
            let source = std::io::Error::new(std::io::ErrorKind::TimedOut, "read timed out");
            return Err(ClusterError::Timeout {
                addr: master.addr(),
                node: master.name,
                source: source.into(),
            });
        }
        // A wait the caller's signal handler ends (Ctrl-C), as a blocking pop on one server.
        if deadline.is_some() && interrupt::requested() {
            return Err(ClusterError::Interrupted { node: master.name });
        }
        match deadline {
            // Not blocking (LMPOP, ZMPOP: one pass), or the time is up: nil, as Redis.
            None => return Ok(Value::Nil),
            Some(Some(deadline)) if now >= deadline => return Ok(Value::Nil),
            Some(Some(deadline)) => std::thread::sleep(
                pause
                    .min(deadline - now)
                    .min(cut.map_or(pause, |c| c - now)),
            ),
            Some(None) => std::thread::sleep(pause.min(cut.map_or(pause, |c| c - now))),
        }
        pause = (pause * 2).min(MAX_POLL_PAUSE);
    }
}

/// A blocking timeout in seconds as Redis reads it: `Some(deadline)`, or `None` for 0
/// (wait for ever).
fn parse_timeout(text: &[u8]) -> Result<Option<Instant>, ClusterError> {
    let seconds: f64 = std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse().ok())
        .filter(|s: &f64| s.is_finite())
        .ok_or_else(|| {
            ClusterError::Command("ERR timeout is not a float or out of range".to_owned())
        })?;
    if seconds < 0.0 {
        return Err(ClusterError::Command("ERR timeout is negative".to_owned()));
    }
    if seconds == 0.0 {
        return Ok(None);
    }
    Ok(Some(
        Instant::now() + Duration::from_secs_f64(seconds.min(1e9)),
    ))
}
