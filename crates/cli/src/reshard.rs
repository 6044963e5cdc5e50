//! `rediscluster reshard`: from one list of masters to another, and from one distribution to
//! another (`crc32` to `elastic`, a `redisarray` deployment to `elastic`, ...), move every key
//! whose node changes. The two configs must store keys under the same names (the same `tags`
//! and `routing_rules`; a compatible distribution stores full names, as `tags: "keep"` does).
//! On each old master, a key is placed under the new config by the route it was placed by:
//!
//! * a stored name that `--tag-rule` matches is routed by the rule's first group (its tag);
//! * a stored name that one of the config's `routing_rules` matches, and any name when names
//!   are kept (`tags: "keep"`, a compatible distribution), is the key itself: placed as the
//!   client places it;
//! * otherwise, a name that the old config places on the node it sits on is routed by its name;
//! * otherwise the key was placed by a hash tag the stored name no longer shows (or it is
//!   misplaced): it cannot be placed from its name alone. Such keys are counted and left where
//!   they are, unless `--route-untagged-by-name` says to route them by name.
//!
//! A key moves by DUMP + PEXPIRETIME on the old node and RESTORE ... ABSTTL (without REPLACE)
//! on the new one; the old copy is deleted only after the RESTORE succeeded. The old node is
//! read a batch ahead while the batch before is restored on every new node at once. If the new node
//! already has the key (an application wrote it there through the client's `previous` window),
//! the newer value wins and the old copy is deleted. A node that stays (same address in both
//! configs) keeps the keys that stay on it. Resumable like `copy` (`--state`).
//!
//! Each old master's keys move in the order of their bucket (`readahead::walk_in_bucket_order`),
//! and the tool publishes on it how far it got (`marks.rs`): the clients in the window then ask
//! one server per read instead of two. A resumed move walks each unfinished old master again
//! from its first bucket (what moved before is gone from it).
//!
//! Into a Redis Cluster (the `to` config names one) every key moves, under the name the client
//! writes: the stored name, or with `--tag-rule` the name with its tag put back
//! (`cluster_names.rs`); keys that cannot be named so stay, counted, as above.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use cluster_core::placement::{Placement, split_tag};
use cluster_core::{Cluster, ClusterConfig, NodeConfig};
use regex::bytes::Regex;
use serde::Serialize;

use crate::cluster_names::{Naming, engine, name_in_cluster};
use crate::error::ToolError;
use crate::job::{Advanced, Job, addresses};
use crate::marks::{self, Mark, Opening};
use crate::nodes::{connect, refuse_one_server_named_twice};
use crate::readahead::{Choice, Order, Walk, read_ahead};
use crate::writes::{Destinations, Restored, delete};

#[derive(Clone, Debug)]
pub struct ReshardOptions {
    pub batch: usize,
    pub state: Option<PathBuf>,
    /// `--tag-rule`: a stored name it matches is routed by its first group.
    pub tag_rule: Option<Regex>,
    /// `--route-untagged-by-name`: move keys that cannot be placed by routing their name.
    pub route_unplaceable_by_name: bool,
    /// Only count what would move, change nothing.
    pub dry_run: bool,
    /// `--rate`: at most this many keys moved per second.
    pub rate: Option<f64>,
}

impl Default for ReshardOptions {
    fn default() -> Self {
        ReshardOptions {
            batch: 1000,
            state: None,
            tag_rule: None,
            route_unplaceable_by_name: false,
            dry_run: false,
            rate: None,
        }
    }
}

impl ReshardOptions {
    /// How stored names are recovered and routed (`cluster_names.rs`).
    fn naming(&self) -> Naming<'_> {
        Naming {
            tag_rule: self.tag_rule.as_ref(),
            by_name: self.route_unplaceable_by_name,
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ReshardSummary {
    pub scanned: u64,
    /// Keys moved to another node (the old copy deleted).
    pub moved: u64,
    /// Keys whose node did not change.
    pub stayed: u64,
    /// Keys that cannot be placed from their stored name (see the module doc), left in place.
    pub unplaceable: u64,
    /// Keys whose new node already had a (newer) value: the old copy was deleted.
    pub newer_on_destination: u64,
    pub resumed: bool,
    pub seconds: f64,
    pub keys_per_second: f64,
}

/// `--tag-rule` (the command line) or `tag_rule` (Python) as a regex over stored names, with
/// the group that captures the tag.
pub fn tag_rule(rule: &str) -> Result<Regex, ToolError> {
    let regex =
        Regex::new(rule).map_err(|e| ToolError::Config(format!("tag rule {rule:?}: {e}")))?;
    match regex.captures_len() {
        1 => Err(ToolError::Config(format!(
            "tag rule {rule:?}: no group; the first group captures the tag (e.g. '^(user:\\d+):')"
        ))),
        _ => Ok(regex),
    }
}

/// The tag rule given, if any (see `tag_rule`).
pub fn tag_rule_of(rule: Option<&str>) -> Result<Option<Regex>, ToolError> {
    rule.map(tag_rule).transpose()
}

/// Where a key sitting on old master `index` goes: `Some(new master)`, or `None` when it
/// cannot be placed from its stored name. `here` is this node's index in the new config, if
/// it stays a master (a key that already moved in during this run is found here again).
pub(crate) fn destination(
    key: &[u8],
    index: usize,
    here: Option<usize>,
    from: &ClusterConfig,
    to: &ClusterConfig,
    options: &ReshardOptions,
) -> Option<usize> {
    let (old_masters, new_masters) = (from.masters.len(), to.masters.len());
    let placement: &Placement = &to.placement;
    if let Some(rule) = &options.tag_rule
        && let Some(tag) = rule.captures(key).and_then(|c| c.get(1))
    {
        return Some(placement.route_index(tag.as_bytes(), new_masters));
    }
    // Where the stored name is the key the client wrote, the client's placement applies to it.
    if placement.stores_as_written(key) {
        return Some(placement.master_index(key, new_masters));
    }
    // A stored name that looks tagged (`x{y}`) cannot have been written by name: the client
    // would have stripped it. A plain one was written by name if its name places it here.
    let plain = !split_tag(key).is_tagged();
    let by_new_name = placement.route_index(key, new_masters);
    if plain && Some(by_new_name) == here {
        return Some(by_new_name);
    }
    let by_name = plain && from.placement.route_index(key, old_masters) == index;
    (by_name || options.route_unplaceable_by_name).then_some(by_new_name)
}

/// Refuses configs between which keys would be renamed (`Placement::names_like`), except
/// into a Redis Cluster, whose names are recovered (`cluster_names.rs`).
pub(crate) fn same_names(from: &ClusterConfig, to: &ClusterConfig) -> Result<(), ToolError> {
    let (a, b) = (&from.placement, &to.placement);
    if a.names_like(b) || to.redis_cluster {
        return Ok(());
    }
    Err(ToolError::Config(format!(
        "the two configs store keys under different names ({} but {}): use 'tags': 'keep' with crc32 or elastic to move from or to a compatible distribution",
        a.naming(),
        b.naming()
    )))
}

/// Moves every key of `from` whose node changes in `to`; `progress` gets the keys scanned so
/// far.
pub fn reshard(
    from: &ClusterConfig,
    to: &ClusterConfig,
    options: &ReshardOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ReshardSummary, ToolError> {
    // Everything that decides where a key goes: a resume file is only used for the same job.
    let name = format!(
        "reshard {} ({}) -> {} ({}) {}",
        addresses(from).join(","),
        from.placement.fingerprint(),
        addresses(to).join(","),
        to.placement.fingerprint(),
        options.naming().fingerprint()
    );
    same_names(from, to)?;
    if !to.redis_cluster {
        let masters: Vec<&NodeConfig> = from.masters.iter().chain(&to.masters).collect();
        refuse_one_server_named_twice(&masters)?;
    }
    let job = Job::open(name, from, to, options.batch, options.state.as_deref())?
        .with_rate(options.rate)?;
    let cluster = engine(to)?;
    let started = Instant::now();
    let totals = Mutex::new(ReshardSummary {
        resumed: job.resumed,
        ..ReshardSummary::default()
    });
    let ends = Endpoints {
        from,
        to,
        cluster: cluster.as_ref(),
    };
    let move_sources = || {
        job.run_sources(from.masters.len(), |index| {
            reshard_node(index, &ends, options, &job, &totals, progress)
        })
    };
    match options.dry_run {
        true => move_sources()?,
        false => {
            let openings: Vec<Opening> = (from.masters.iter())
                .map(
                    |source| match (job.resumed, job.resume_point(&source.addr())) {
                        (false, _) => Opening::Fresh,
                        (true, Some(_)) => Opening::Resumed,
                        (true, None) => Opening::Finished,
                    },
                )
                .collect();
            marks::kept_during(&from.masters, &openings, move_sources)?
        }
    }
    let mut summary = totals.into_inner().unwrap_or_else(|p| p.into_inner());
    // Unplaceable keys stay where they are: a resumed run counts those met before it too.
    summary.unplaceable = job.into_state().unplaceable;
    summary.seconds = started.elapsed().as_secs_f64();
    summary.keys_per_second = summary.moved as f64 / summary.seconds.max(1e-9);
    Ok(summary)
}

/// Where a reshard goes: the two configs, and the engine when `to` is a Redis Cluster.
struct Endpoints<'a> {
    from: &'a ClusterConfig,
    to: &'a ClusterConfig,
    cluster: Option<&'a Cluster>,
}

fn reshard_node(
    index: usize,
    ends: &Endpoints<'_>,
    options: &ReshardOptions,
    job: &Job<'_>,
    totals: &Mutex<ReshardSummary>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(), ToolError> {
    let Endpoints { from, to, cluster } = *ends;
    let source = &from.masters[index];
    let addr = source.addr();
    // Only whether the source is done counts: a move starts again from its first bucket.
    if job.resume_point(&addr).is_none() {
        return Ok(());
    }
    let here = to.masters.iter().position(|m| m.addr() == addr);
    let naming = options.naming();
    let choose = |key: &[u8]| match cluster {
        Some(_) => {
            name_in_cluster(key, index, from, naming).map_or(Choice::Unplaceable, Choice::TakeAs)
        }
        None => match destination(key, index, here, from, to, options) {
            None => Choice::Unplaceable,
            Some(target) if to.masters[target].addr() == addr => Choice::Stay,
            Some(target) => Choice::Take(target),
        },
    };
    // A dry run counts what is there now; a move always walks from its first bucket.
    let order = match options.dry_run {
        true => Order::Scan {
            cursor: 0,
            dry_run: true,
        },
        false => Order::Buckets {
            paced: options.rate.is_some(),
        },
    };
    let walk = Walk {
        source,
        pattern: None,
        batch: options.batch,
        order,
    };
    // The reader has its own connection to the source; this one deletes the moved keys and
    // publishes how far the move got.
    let mut old = connect(source)?;
    let mut mark = Mark::default();
    std::thread::scope(|scope| {
        let mut destinations = Destinations::new(&to.masters, cluster);
        for batch in read_ahead(scope, walk, &choose) {
            let batch = batch?;
            let mut done = ReshardSummary {
                scanned: batch.scanned,
                stayed: batch.stayed,
                unplaceable: batch.unplaceable,
                moved: batch.would_take,
                ..ReshardSummary::default()
            };
            // Confirmed on the new node (restored, or it already had a newer value: RESTORE
            // without REPLACE never overwrites what a client wrote there through the window):
            // only then is the old copy deleted.
            let outcomes = destinations.restore(&batch.dumped, |d| d.name_or(&d.key), false)?;
            for outcome in &outcomes {
                match outcome {
                    Restored::Done => done.moved += 1,
                    Restored::AlreadyThere => done.newer_on_destination += 1,
                }
            }
            let confirmed: Vec<&[u8]> = batch.dumped.iter().map(|d| d.key.as_slice()).collect();
            delete(&mut old, source, &confirmed)?;
            if let Some(done_below) = batch.done_below {
                mark.publish(&mut old, source, done_below, batch.cursor == 0)?;
            }
            let advanced = Advanced {
                copied: done.moved,
                unplaceable: done.unplaceable,
                ..Advanced::default()
            };
            job.advance(&addr, batch.cursor, &advanced, !options.dry_run)?;
            job.pace(batch.dumped.len() as u64);
            let scanned = {
                let mut totals = totals.lock().unwrap_or_else(|p| p.into_inner());
                totals.scanned += done.scanned;
                totals.moved += done.moved;
                totals.stayed += done.stayed;
                totals.unplaceable += done.unplaceable;
                totals.newer_on_destination += done.newer_on_destination;
                totals.scanned
            };
            progress(scanned);
        }
        Ok(())
    })
}
