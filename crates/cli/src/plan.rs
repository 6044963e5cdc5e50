//! `rediscluster plan --from OLD --to NEW`: before a reshard, how many keys each master would
//! keep, lose and gain, and how many keys move in all. Keys are placed exactly as `reshard`
//! places them (`reshard::destination`), from a SCAN of every old master: all of them, or the
//! first `--sample` keys of each, scaled to its DBSIZE. `--random N` places N random keys
//! instead, touching no server: what a placement change moves in general (`crc32 % N` growing
//! 8 → 9 moves about 89 %, `elastic` 1/9).

use std::collections::BTreeMap;

use cluster_core::ClusterConfig;
use serde::Serialize;

use crate::error::ToolError;
use crate::nodes::connect;
use crate::reshard::{ReshardOptions, destination, same_names};

/// One server (by address) in either config.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct NodePlan {
    /// Its name in the new config, else in the old one.
    pub name: String,
    pub addr: String,
    /// Keys on it now (counted, or estimated from a sample).
    pub keys: u64,
    pub stay: u64,
    pub lose: u64,
    pub gain: u64,
    /// Keys on it after the reshard.
    pub after: u64,
    /// Keys whose place cannot be told from their stored name (they would stay).
    pub unplaceable: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Plan {
    pub nodes: Vec<NodePlan>,
    /// Keys placed (scanned, or random).
    pub placed: u64,
    /// Keys that move, in all (estimated when sampled).
    pub moving: u64,
    pub keys: u64,
    pub fraction_moving: f64,
    /// The counts were scaled from a sample of each old master.
    pub sampled: bool,
    /// `keys after` of the fullest master over the emptiest (of the new config's masters).
    pub fullest_over_emptiest: f64,
}

/// Counts per address, in a stable order: the new config's masters, then the old ones that
/// leave.
struct Tally {
    rows: BTreeMap<String, NodePlan>,
    order: Vec<String>,
}

impl Tally {
    fn new(from: &ClusterConfig, to: &ClusterConfig) -> Tally {
        let mut rows = BTreeMap::new();
        let mut order = Vec::new();
        for node in to.masters.iter().chain(&from.masters) {
            let addr = node.addr();
            if !rows.contains_key(&addr) {
                order.push(addr.clone());
                rows.insert(
                    addr.clone(),
                    NodePlan {
                        name: node.name.clone(),
                        addr,
                        ..NodePlan::default()
                    },
                );
            }
        }
        Tally { rows, order }
    }

    /// One key on `from_addr` going to `to_addr` (`None`: it cannot be placed), `weight` keys
    /// for a sample.
    fn count(&mut self, from_addr: &str, to_addr: Option<&str>, weight: u64) {
        let row = self.rows.get_mut(from_addr).expect("an old master");
        row.keys += weight;
        match to_addr {
            None => row.unplaceable += weight,
            Some(to) if to == from_addr => row.stay += weight,
            Some(to) => {
                row.lose += weight;
                self.rows.get_mut(to).expect("a new master").gain += weight;
            }
        }
    }

    fn finish(mut self, to: &ClusterConfig, placed: u64, sampled: bool) -> Plan {
        for row in self.rows.values_mut() {
            row.after = row.stay + row.unplaceable + row.gain;
        }
        let nodes: Vec<NodePlan> = self.order.iter().map(|a| self.rows[a].clone()).collect();
        let keys: u64 = nodes.iter().map(|n| n.keys).sum();
        let moving: u64 = nodes.iter().map(|n| n.lose).sum();
        let new_addrs: Vec<String> = to.masters.iter().map(|m| m.addr()).collect();
        let afters: Vec<u64> = nodes
            .iter()
            .filter(|n| new_addrs.contains(&n.addr))
            .map(|n| n.after)
            .collect();
        let (max, min) = (
            afters.iter().copied().max().unwrap_or(0),
            afters.iter().copied().min().unwrap_or(0),
        );
        Plan {
            nodes,
            placed,
            moving,
            keys,
            fraction_moving: moving as f64 / keys.max(1) as f64,
            sampled,
            fullest_over_emptiest: if min == 0 {
                f64::INFINITY
            } else {
                max as f64 / min as f64
            },
        }
    }
}

/// What `plan` is asked, on the command line or from Python.
#[derive(Clone, Debug, Default)]
pub struct PlanRequest<'a> {
    /// Place this many random keys instead of scanning.
    pub random: Option<u64>,
    /// Scan only this many keys of each old master.
    pub sample: Option<u64>,
    /// As reshard's `--tag-rule` and `--route-untagged-by-name`.
    pub tag_rule: Option<&'a str>,
    pub route_unplaceable_by_name: bool,
}

/// The plan a request asks for: random keys, or a scan (whole or sampled).
pub fn plan_for(
    from: &ClusterConfig,
    to: &ClusterConfig,
    request: &PlanRequest<'_>,
) -> Result<Plan, ToolError> {
    if let Some(count) = request.random {
        return plan_random(from, to, count, 1);
    }
    let options = ReshardOptions {
        tag_rule: crate::reshard::tag_rule_of(request.tag_rule)?,
        route_unplaceable_by_name: request.route_unplaceable_by_name,
        ..ReshardOptions::default()
    };
    plan(from, to, &options, request.sample)
}

/// The plan from a SCAN of every old master (`sample`: at most that many keys of each).
pub fn plan(
    from: &ClusterConfig,
    to: &ClusterConfig,
    options: &ReshardOptions,
    sample: Option<u64>,
) -> Result<Plan, ToolError> {
    same_names(from, to)?;
    let mut tally = Tally::new(from, to);
    let mut placed = 0;
    for (index, source) in from.masters.iter().enumerate() {
        let addr = source.addr();
        let here = to.masters.iter().position(|m| m.addr() == addr);
        let mut connection = connect(source)?;
        let total: u64 = redis::cmd("DBSIZE")
            .query(&mut connection)
            .map_err(|e| ToolError::node(source, &e))?;
        let mut seen: Vec<Option<usize>> = Vec::new();
        let mut cursor = 0u64;
        loop {
            let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("COUNT")
                .arg(options.batch)
                .query(&mut connection)
                .map_err(|e| ToolError::node(source, &e))?;
            for key in keys {
                seen.push(destination(&key, index, here, from, to, options));
            }
            cursor = next;
            if cursor == 0 || sample.is_some_and(|n| seen.len() as u64 >= n) {
                break;
            }
        }
        placed += seen.len() as u64;
        // A sample counts for its share of the node's keys.
        let weight = |share: u64| {
            if seen.is_empty() {
                0
            } else {
                (share * total).div_ceil(seen.len() as u64)
            }
        };
        let mut per_target: BTreeMap<Option<usize>, u64> = BTreeMap::new();
        for target in &seen {
            *per_target.entry(*target).or_default() += 1;
        }
        for (target, count) in per_target {
            let to_addr = target.map(|t| to.masters[t].addr());
            let scaled = if sample.is_some() {
                weight(count)
            } else {
                count
            };
            tally.count(&addr, to_addr.as_deref(), scaled);
        }
    }
    Ok(tally.finish(to, placed, sample.is_some()))
}

/// The plan for `count` random keys (`key:<64 random bits>`), touching no server: how the
/// placement change moves keys in general.
pub fn plan_random(
    from: &ClusterConfig,
    to: &ClusterConfig,
    count: u64,
    seed: u64,
) -> Result<Plan, ToolError> {
    same_names(from, to)?;
    let mut tally = Tally::new(from, to);
    let (old, new) = (from.masters.len(), to.masters.len());
    let mut state = seed;
    for _ in 0..count {
        let key = format!("key:{:016x}", splitmix64(&mut state));
        let a = from.masters[from.placement.master_index(key.as_bytes(), old)].addr();
        let b = to.masters[to.placement.master_index(key.as_bytes(), new)].addr();
        tally.count(&a, Some(&b), 1);
    }
    Ok(tally.finish(to, count, false))
}

/// A small, well-mixed generator (SplitMix64): reproducible random keys for a given seed.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
