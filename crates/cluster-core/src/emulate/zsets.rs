//! Sorted-set algebra across masters: ZUNION / ZINTER / ZDIFF, their STORE forms and
//! ZINTERCARD, with WEIGHTS and AGGREGATE as Redis computes them (sets count with score 1).

use std::collections::HashMap;

use redis::Value;

use super::common::{Key, WRONGTYPE, error_reply, read_keys, replace_key, temporary_name, text_of};
use crate::commands::SetOp;
use crate::error::ClusterError;
use crate::executor::Executor;

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// The options after the keys, parsed as Redis does (after the type checks, so they are
/// applied once the sources are known to be sets or sorted sets).
struct Options {
    weights: Vec<f64>,
    aggregate: Aggregate,
    with_scores: bool,
    limit: usize,
}

fn parse_options<A: AsRef<[u8]>>(
    args: &[A],
    first_option: usize,
    keys: usize,
    op: SetOp,
    store: bool,
    card: bool,
) -> Result<Options, Value> {
    let syntax = || error_reply("ERR syntax error");
    let mut options = Options {
        weights: vec![1.0; keys],
        aggregate: Aggregate::Sum,
        with_scores: false,
        limit: 0,
    };
    let mut j = first_option;
    while j < args.len() {
        let remaining = args.len() - j;
        let word = args[j].as_ref();
        if op != SetOp::Diff && !card && remaining > keys && word.eq_ignore_ascii_case(b"WEIGHTS") {
            for (i, weight) in options.weights.iter_mut().enumerate() {
                *weight = parse_double(args[j + 1 + i].as_ref())
                    .ok_or_else(|| error_reply("ERR weight value is not a float"))?;
            }
            j += 1 + keys;
        } else if op != SetOp::Diff
            && !card
            && remaining >= 2
            && word.eq_ignore_ascii_case(b"AGGREGATE")
        {
            let how = args[j + 1].as_ref();
            options.aggregate = if how.eq_ignore_ascii_case(b"SUM") {
                Aggregate::Sum
            } else if how.eq_ignore_ascii_case(b"MIN") {
                Aggregate::Min
            } else if how.eq_ignore_ascii_case(b"MAX") {
                Aggregate::Max
            } else {
                return Err(syntax());
            };
            j += 2;
        } else if !store && !card && word.eq_ignore_ascii_case(b"WITHSCORES") {
            options.with_scores = true;
            j += 1;
        } else if card && remaining >= 2 && word.eq_ignore_ascii_case(b"LIMIT") {
            let n: i64 = std::str::from_utf8(args[j + 1].as_ref())
                .ok()
                .and_then(|t| t.parse().ok())
                .ok_or_else(|| error_reply("ERR value is not an integer or out of range"))?;
            if n < 0 {
                return Err(error_reply("ERR LIMIT can't be negative"));
            }
            options.limit = n as usize;
            j += 2;
        } else {
            return Err(syntax());
        }
    }
    Ok(options)
}

/// A double as Redis reads one (`strtod` of the whole text; NaN refused).
fn parse_double(text: &[u8]) -> Option<f64> {
    let value: f64 = std::str::from_utf8(text)
        .ok()?
        .trim_end_matches('\0')
        .parse()
        .ok()?;
    (!value.is_nan()).then_some(value)
}

/// A source as member → score (`None`: no such key); sets count with score 1.
type Source = Option<Vec<(Vec<u8>, f64)>>;

/// Reads every source from its master: types first (WRONGTYPE before anything else), then
/// members with scores.
fn read_sources(
    executor: &Executor,
    keys: &[Key<'_>],
) -> Result<Result<Vec<Source>, Value>, ClusterError> {
    let types: Vec<(Key<'_>, Vec<&[u8]>)> = keys
        .iter()
        .map(|k| (*k, vec![&b"TYPE"[..], k.stored]))
        .collect();
    let types: Vec<String> = read_keys(executor, &types)?
        .iter()
        .map(|v| String::from_utf8_lossy(text_of(v).unwrap_or_default()).into_owned())
        .collect();
    if types
        .iter()
        .any(|t| !matches!(t.as_str(), "zset" | "set" | "none"))
    {
        return Ok(Err(error_reply(WRONGTYPE)));
    }
    let reads: Vec<(Key<'_>, Vec<&[u8]>)> = keys
        .iter()
        .zip(&types)
        .map(|(k, t)| match t.as_str() {
            "zset" => (
                *k,
                vec![&b"ZRANGE"[..], k.stored, b"0", b"-1", b"WITHSCORES"],
            ),
            _ => (*k, vec![&b"SMEMBERS"[..], k.stored]),
        })
        .collect();
    let mut sources = Vec::with_capacity(keys.len());
    for (reply, kind) in read_keys(executor, &reads)?.into_iter().zip(&types) {
        let items = match reply {
            Value::Array(items) => items,
            error @ Value::ServerError(_) => return Ok(Err(error)), // changed type meanwhile
            other => {
                return Err(ClusterError::Command(format!(
                    "ERR unexpected reply {other:?}"
                )));
            }
        };
        // Members and scores are always strings; anything else is an error, never bytes made
        // up from it.
        let bytes = |v: &Value| {
            text_of(v).map(<[u8]>::to_vec).ok_or_else(|| {
                ClusterError::Command(format!("ERR unexpected member or score {v:?}"))
            })
        };
        sources.push(match kind.as_str() {
            "none" => None,
            "zset" => {
                let mut pairs = Vec::with_capacity(items.len() / 2);
                for pair in items.chunks_exact(2) {
                    let score = parse_double(&bytes(&pair[1])?).unwrap_or(0.0);
                    pairs.push((bytes(&pair[0])?, score));
                }
                Some(pairs)
            }
            _ => Some(
                items
                    .iter()
                    .map(|m| Ok((bytes(m)?, 1.0)))
                    .collect::<Result<_, ClusterError>>()?,
            ),
        });
    }
    Ok(Ok(sources))
}

/// Redis's `zunionInterAggregate`, with its NaN rule (inf + -inf is 0).
fn aggregate(target: &mut f64, value: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *target += value;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => *target = target.min(value),
        Aggregate::Max => *target = target.max(value),
    }
}

fn weighted(score: f64, weight: f64) -> f64 {
    let value = score * weight;
    if value.is_nan() { 0.0 } else { value }
}

/// The result, ordered as a sorted set is: by score, then member bytes.
fn compute(op: SetOp, sources: Vec<Source>, options: &Options) -> Vec<(Vec<u8>, f64)> {
    let mut result: Vec<(Vec<u8>, f64)> = Vec::new();
    let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
    match op {
        SetOp::Union => {
            for (source, weight) in sources.into_iter().zip(&options.weights) {
                for (member, score) in source.into_iter().flatten() {
                    let value = weighted(score, *weight);
                    match index.get(&member) {
                        Some(&at) => aggregate(&mut result[at].1, value, options.aggregate),
                        None => {
                            index.insert(member.clone(), result.len());
                            result.push((member, value));
                        }
                    }
                }
            }
        }
        SetOp::Inter => {
            if sources.iter().any(Option::is_none) {
                return Vec::new();
            }
            let maps: Vec<HashMap<Vec<u8>, f64>> = sources
                .iter()
                .skip(1)
                .map(|s| s.iter().flatten().cloned().collect())
                .collect();
            let first = sources.into_iter().next().flatten().unwrap_or_default();
            for (member, score) in first {
                if maps.iter().all(|m| m.contains_key(&member)) {
                    let mut value = weighted(score, options.weights[0]);
                    for (map, weight) in maps.iter().zip(&options.weights[1..]) {
                        aggregate(
                            &mut value,
                            weighted(map[&member], *weight),
                            options.aggregate,
                        );
                    }
                    result.push((member, value));
                }
            }
        }
        SetOp::Diff => {
            let others: std::collections::HashSet<Vec<u8>> = sources
                .iter()
                .skip(1)
                .flatten()
                .flatten()
                .map(|(m, _)| m.clone())
                .collect();
            let first = sources.into_iter().next().flatten().unwrap_or_default();
            result = first
                .into_iter()
                .filter(|(m, _)| !others.contains(m))
                .collect();
        }
    }
    // As a sorted set orders: by score (-0 and 0 are equal, as in Redis's comparisons), then by
    // member bytes.
    result.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
    result
}

/// A command's form: where its options start, and which ones it takes.
struct Form {
    op: SetOp,
    first_option: usize,
    store: bool,
    card: bool,
}

type Scored = Vec<(Vec<u8>, f64)>;

/// Reads the sources (type errors first, as Redis), parses the options, computes the result:
/// the result with its options, or the error reply that is the command's answer.
fn evaluate<A: AsRef<[u8]>>(
    executor: &Executor,
    args: &[A],
    keys: &[Key<'_>],
    form: Form,
) -> Result<Result<(Scored, Options), Value>, ClusterError> {
    let sources = match read_sources(executor, keys)? {
        Ok(sources) => sources,
        Err(error) => return Ok(Err(error)),
    };
    let options = match parse_options(
        args,
        form.first_option,
        keys.len(),
        form.op,
        form.store,
        form.card,
    ) {
        Ok(options) => options,
        Err(error) => return Ok(Err(error)),
    };
    Ok(Ok((compute(form.op, sources, &options), options)))
}

/// ZUNION / ZINTER / ZDIFF numkeys key... [options]: `keys` start at argument 2.
pub fn combine<A: AsRef<[u8]>>(
    executor: &Executor,
    op: SetOp,
    args: &[A],
    keys: &[Key<'_>],
) -> Result<Value, ClusterError> {
    let form = Form {
        op,
        first_option: 2 + keys.len(),
        store: false,
        card: false,
    };
    let (result, options) = match evaluate(executor, args, keys, form)? {
        Ok(evaluated) => evaluated,
        Err(error) => return Ok(error),
    };
    if !options.with_scores {
        return Ok(Value::Array(
            result
                .into_iter()
                .map(|(m, _)| Value::BulkString(m))
                .collect(),
        ));
    }
    written_by_the_server(executor, keys[0].shard, &result)
}

/// The result with its scores as the server writes them (Redis 7.0 prints `%.17g`, 7.2 and
/// later the shortest form, and a client cannot reproduce either exactly): put into a
/// temporary sorted set on `shard` and read back, in one MULTI/EXEC that deletes it again.
/// The order is the sorted set's, which is the result's.
fn written_by_the_server(
    executor: &Executor,
    shard: usize,
    result: &Scored,
) -> Result<Value, ClusterError> {
    if result.is_empty() {
        return Ok(Value::Array(Vec::new()));
    }
    let name = temporary_name(executor.placement(), shard);
    // `{:?}` is the shortest text that reads back as the same double (`-0.0`, `1e-7`, `inf`).
    let scores: Vec<String> = result.iter().map(|(_, s)| format!("{s:?}")).collect();
    let mut zadd: Vec<&[u8]> = vec![b"ZADD", &name];
    for ((member, _), score) in result.iter().zip(&scores) {
        zadd.extend([score.as_bytes(), member]);
    }
    let batch = [
        (shard, vec![&b"MULTI"[..]]),
        (shard, zadd),
        (
            shard,
            vec![&b"ZRANGE"[..], &name, b"0", b"-1", b"WITHSCORES"],
        ),
        (shard, vec![&b"DEL"[..], &name]),
        (shard, vec![&b"EXEC"[..]]),
    ];
    let mut read_back = match executor.run_on_masters(&batch)?.pop() {
        Some(Value::Array(mut replies)) if replies.len() == 3 => replies.swap_remove(1),
        Some(error @ Value::ServerError(_)) => return Ok(error),
        other => {
            return Err(ClusterError::Command(format!(
                "ERR EXEC answered {other:?}"
            )));
        }
    };
    // A stored score of -0 is kept as 0; a server's own reply, computed in memory, says "-0".
    let negative_zero: Vec<&[u8]> = result
        .iter()
        .filter(|(_, s)| *s == 0.0 && s.is_sign_negative())
        .map(|(m, _)| m.as_slice())
        .collect();
    if let Value::Array(items) = &mut read_back
        && !negative_zero.is_empty()
    {
        for pair in items.chunks_exact_mut(2) {
            if text_of(&pair[0]).is_some_and(|m| negative_zero.contains(&m)) {
                pair[1] = Value::BulkString(b"-0".to_vec());
            }
        }
    }
    Ok(read_back)
}

/// ZUNIONSTORE / ZINTERSTORE / ZDIFFSTORE destination numkeys key... [options].
pub fn combine_store<A: AsRef<[u8]>>(
    executor: &Executor,
    op: SetOp,
    args: &[A],
    destination: Key<'_>,
    sources: &[Key<'_>],
) -> Result<Value, ClusterError> {
    let form = Form {
        op,
        first_option: 3 + sources.len(),
        store: true,
        card: false,
    };
    let (result, _) = match evaluate(executor, args, sources, form)? {
        Ok(evaluated) => evaluated,
        Err(error) => return Ok(error),
    };
    let scores: Vec<String> = result.iter().map(|(_, s)| format!("{s:?}")).collect();
    let mut zadd: Vec<&[u8]> = vec![b"ZADD", destination.stored];
    for ((member, _), score) in result.iter().zip(&scores) {
        zadd.push(score.as_bytes());
        zadd.push(member);
    }
    let fill = (!result.is_empty()).then_some(zadd);
    match replace_key(executor, destination, fill)? {
        Some(error) => Ok(error),
        None => Ok(Value::Int(result.len() as i64)),
    }
}

/// ZINTERCARD numkeys key... [LIMIT limit].
pub fn intercard<A: AsRef<[u8]>>(
    executor: &Executor,
    args: &[A],
    keys: &[Key<'_>],
) -> Result<Value, ClusterError> {
    let form = Form {
        op: SetOp::Inter,
        first_option: 2 + keys.len(),
        store: false,
        card: true,
    };
    let (result, options) = match evaluate(executor, args, keys, form)? {
        Ok(evaluated) => evaluated,
        Err(error) => return Ok(error),
    };
    let count = result.len();
    Ok(Value::Int(if options.limit == 0 {
        count
    } else {
        count.min(options.limit)
    } as i64))
}
