//! `rediscluster copy`: every key of a source (one server, or every master of a cluster) into a
//! destination cluster, placed as the destination's config places keys (by default the
//! contract: a key named `bar{foo}` goes to foo's node as `bar`; with its routing rules or
//! `tags: "keep"`, under the key's own name), exactly where the client will look for it. Per
//! source node, in parallel, and overlapping: a reader thread SCANs and DUMPs + PEXPIRETIMEs
//! batches ahead (`readahead.rs`) while each batch before is RESTOREd ... REPLACE ABSTTL on
//! the destination masters, all of them at once (`writes.rs`, the expiry instant kept to the
//! millisecond), then its cursor is recorded. Keys that expire meanwhile are skipped and
//! counted. Needs Redis 7 (PEXPIRETIME) on the source.

use std::path::PathBuf;
use std::time::Instant;

use std::borrow::Cow;

use cluster_core::{Cluster, ClusterConfig};
use redis::{ConnectionLike, Value};
use regex::bytes::Regex;
use serde::Serialize;

use crate::cluster_names::{Naming, engine, name_in_cluster};
use crate::error::ToolError;
use crate::job::{Advanced, Job, addresses};
use crate::nodes::connect;
use crate::readahead::{Choice, Dumped, Order, Walk, read_ahead};
use crate::writes::Destinations;

#[derive(Clone, Debug)]
pub struct CopyOptions {
    /// SCAN's MATCH pattern (on the source's stored names).
    pub pattern: Option<String>,
    /// Keys per SCAN step and per pipeline.
    pub batch: usize,
    /// Where the resume point is kept (`None`: not resumable).
    pub state: Option<PathBuf>,
    /// `--tag-rule`, into a Redis Cluster: a stored name it matches, whose first group is the
    /// tag the client stripped, is copied as `name{tag}`.
    pub tag_rule: Option<Regex>,
    /// `--route-untagged-by-name`, into a Redis Cluster: copy a key whose name cannot be
    /// recovered under its stored name (else it is counted and left out).
    pub route_unplaceable_by_name: bool,
    /// `--rate`: at most this many keys copied per second.
    pub rate: Option<f64>,
}

impl CopyOptions {
    /// How names are recovered into a Redis Cluster (`cluster_names.rs`).
    fn naming(&self) -> Naming<'_> {
        Naming {
            tag_rule: self.tag_rule.as_ref(),
            by_name: self.route_unplaceable_by_name,
        }
    }
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            pattern: None,
            batch: 1000,
            state: None,
            tag_rule: None,
            route_unplaceable_by_name: false,
            rate: None,
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct CopySummary {
    /// Keys restored on the destination (this run and, when resumed, before).
    pub copied: u64,
    /// Keys that expired or vanished between SCAN and DUMP.
    pub expired: u64,
    /// Into a Redis Cluster: keys whose name the clients write could not be recovered from
    /// the stored name (see `cluster_names.rs`), left out (this run and, resumed, before).
    pub unplaceable: u64,
    /// This run continued from a state file.
    pub resumed: bool,
    /// This run's duration and rate.
    pub seconds: f64,
    pub keys_per_second: f64,
}

/// Copies `from` into `to`. `progress` gets the number of keys copied so far.
pub fn copy(
    from: &ClusterConfig,
    to: &ClusterConfig,
    options: &CopyOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<CopySummary, ToolError> {
    let name = format!(
        "copy {} -> {} ({}) match {}{}",
        addresses(from).join(","),
        addresses(to).join(","),
        to.placement.fingerprint(),
        options.pattern.as_deref().unwrap_or("*"),
        // Into a Redis Cluster, names are recovered by the source's placement and the rule.
        match to.redis_cluster {
            true => format!(
                " from ({}) {}",
                from.placement.fingerprint(),
                options.naming().fingerprint()
            ),
            false => String::new(),
        }
    );
    let job = Job::open(name, from, to, options.batch, options.state.as_deref())?
        .with_rate(options.rate)?;
    let cluster = engine(to)?;
    let started = Instant::now();
    let copied_before = job.resume_copied();
    job.run_sources(from.masters.len(), |index| {
        copy_source(index, cluster.as_ref(), from, to, options, &job, progress)
    })?;
    let resumed = job.resumed;
    let state = job.into_state();
    let seconds = started.elapsed().as_secs_f64();
    Ok(CopySummary {
        copied: state.copied,
        expired: state.expired,
        unplaceable: state.unplaceable,
        resumed,
        seconds,
        keys_per_second: (state.copied - copied_before) as f64 / seconds.max(1e-9),
    })
}

/// One source node's walk: its batches read ahead (`readahead.rs`) while the batches before
/// them are restored on every destination at once (`writes.rs`); each batch's cursor is
/// recorded once all its RESTOREs are confirmed.
fn copy_source(
    index: usize,
    cluster: Option<&Cluster>,
    from: &ClusterConfig,
    to: &ClusterConfig,
    options: &CopyOptions,
    job: &Job<'_>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(), ToolError> {
    let source = &from.masters[index];
    let addr = source.addr();
    let Some(cursor) = job.resume_point(&addr) else {
        return Ok(());
    };
    let masters = to.masters.len();
    let choose = |key: &[u8]| match cluster {
        Some(_) => name_in_cluster(key, index, from, options.naming())
            .map_or(Choice::Unplaceable, Choice::TakeAs),
        None => Choice::Take(to.placement.master_index(key, masters)),
    };
    let walk = Walk {
        source,
        pattern: options.pattern.as_deref(),
        batch: options.batch,
        order: Order::Scan {
            cursor,
            dry_run: false,
        },
    };
    std::thread::scope(|scope| {
        let mut destinations = Destinations::new(&to.masters, cluster);
        for batch in read_ahead(scope, walk, &choose) {
            let batch = batch?;
            destinations.restore(&batch.dumped, |d| name_on(to, d), true)?;
            let copied = batch.dumped.len() as u64;
            let done = Advanced {
                copied,
                expired: batch.vanished,
                unplaceable: batch.unplaceable,
            };
            let total = job.advance(&addr, batch.cursor, &done, true)?;
            job.pace(copied);
            progress(total);
        }
        Ok(())
    })
}

/// The name a key read from the source is written under: the name recovered for a Redis
/// Cluster, else the stored name the destination's placement gives it.
fn name_on<'d>(to: &ClusterConfig, dumped: &'d Dumped) -> &'d [u8] {
    dumped.name_or(to.placement.split(&dumped.key).stored)
}

/// What `verify` found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct VerifySummary {
    pub checked: u64,
    /// Keys of the source that are not on their destination node.
    pub missing: u64,
    /// Keys whose value differs (DUMP payloads compared).
    pub different: u64,
    /// Keys whose expiry instant differs by more than the tolerance.
    pub ttl_different: u64,
    /// Into a Redis Cluster: keys whose name could not be recovered (not copied, not checked).
    pub unplaceable: u64,
    /// A few of the keys that differ, for the report.
    pub examples: Vec<String>,
}

/// Compares every source key (matching `pattern`) with its copy where the client looks for
/// it (on a Redis Cluster, under the name `copy` gave it with the same `options`): value by
/// DUMP payload, expiry instant within `tolerance_ms`.
pub fn verify(
    from: &ClusterConfig,
    to: &ClusterConfig,
    options: &CopyOptions,
    tolerance_ms: i64,
) -> Result<VerifySummary, ToolError> {
    let pattern = options.pattern.as_deref();
    let mut summary = VerifySummary::default();
    let mut writers = Vec::new();
    let cluster = engine(to)?;
    let mut cluster = cluster.as_ref().map(Cluster::handle);
    if cluster.is_none() {
        writers = to
            .masters
            .iter()
            .map(connect)
            .collect::<Result<Vec<_>, _>>()?;
    }
    let naming = options.naming();
    let masters = to.masters.len();
    for (index, source) in from.masters.iter().enumerate() {
        let mut reader = connect(source)?;
        let mut cursor = 0u64;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor);
            if let Some(pattern) = pattern {
                scan.arg("MATCH").arg(pattern);
            }
            scan.arg("COUNT").arg(1000);
            let (next, keys): (u64, Vec<Vec<u8>>) = scan
                .query(&mut reader)
                .map_err(|e| ToolError::node(source, &e))?;
            for key in keys {
                // Where the client looks for the key: its name there and a connection to it.
                let (name, copy, at): (Cow<'_, [u8]>, &mut dyn ConnectionLike, Option<usize>) =
                    match &mut cluster {
                        Some(handle) => {
                            let Some(name) = name_in_cluster(&key, index, from, naming) else {
                                summary.unplaceable += 1;
                                continue;
                            };
                            (Cow::Owned(name), handle, None)
                        }
                        None => {
                            let tagged = to.placement.place(&key, masters);
                            let shard = tagged.shard;
                            (
                                Cow::Borrowed(tagged.stored),
                                &mut writers[shard],
                                Some(shard),
                            )
                        }
                    };
                let copy_error = |e: redis::RedisError| match at {
                    Some(shard) => ToolError::node(&to.masters[shard], &e),
                    None => ToolError::Cluster(e.to_string()),
                };
                let theirs: (Option<Vec<u8>>, i64) = redis::pipe()
                    .cmd("DUMP")
                    .arg(&key)
                    .cmd("PEXPIRETIME")
                    .arg(&key)
                    .query(&mut reader)
                    .map_err(|e| ToolError::node(source, &e))?;
                let Some(payload) = theirs.0 else { continue }; // expired meanwhile
                summary.checked += 1;
                let ours: (Option<Vec<u8>>, i64) = redis::pipe()
                    .cmd("DUMP")
                    .arg(&*name)
                    .cmd("PEXPIRETIME")
                    .arg(&*name)
                    .query(copy)
                    .map_err(copy_error)?;
                let problem = match ours.0 {
                    None => {
                        summary.missing += 1;
                        true
                    }
                    // Payloads of hash-table encodings follow each server's own hash order:
                    // when they differ, the contents are compared type by type.
                    Some(copied)
                        if copied != payload
                            && content(&mut reader, &key)
                                .map_err(|e| ToolError::node(source, &e))?
                                != content(copy, &name).map_err(copy_error)? =>
                    {
                        summary.different += 1;
                        true
                    }
                    Some(_)
                        if (ours.1 - theirs.1).abs() > tolerance_ms
                            && !(ours.1 < 0 && theirs.1 < 0) =>
                    {
                        summary.ttl_different += 1;
                        true
                    }
                    Some(_) => false,
                };
                if problem && summary.examples.len() < 10 {
                    summary
                        .examples
                        .push(String::from_utf8_lossy(&key).into_owned());
                }
            }
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
    }
    Ok(summary)
}

/// A key's contents in a form that compares across servers: by type, unordered collections
/// sorted.
fn content(connection: &mut dyn ConnectionLike, key: &[u8]) -> redis::RedisResult<Vec<Value>> {
    let kind: String = redis::cmd("TYPE").arg(key).query(connection)?;
    let read = |name: &str, extra: &[&str], connection: &mut dyn ConnectionLike| {
        redis::cmd(name)
            .arg(key)
            .arg(extra)
            .query::<Value>(connection)
    };
    let mut items = match kind.as_str() {
        "string" => vec![read("GET", &[], connection)?],
        "list" => vec![read("LRANGE", &["0", "-1"], connection)?],
        "set" => match read("SMEMBERS", &[], connection)? {
            Value::Array(members) | Value::Set(members) => members,
            other => vec![other],
        },
        "zset" => vec![read("ZRANGE", &["0", "-1", "WITHSCORES"], connection)?],
        "hash" => match read("HGETALL", &[], connection)? {
            Value::Array(flat) => flat
                .chunks(2)
                .map(|pair| Value::Array(pair.to_vec()))
                .collect(),
            other => vec![other],
        },
        "stream" => vec![read("XRANGE", &["-", "+"], connection)?],
        _ => Vec::new(),
    };
    items.sort_by_key(|v| format!("{v:?}"));
    items.insert(0, Value::SimpleString(kind));
    Ok(items)
}
