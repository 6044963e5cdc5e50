//! The `rediscluster` command line (nodefor, info, check, copy, plan, grow, reshard) over the
//! engine's placement. Human-readable tables by default, `--json` for scripts; a progress bar
//! on a terminal for `copy` (`--quiet` turns it off).
//!
//! Exit status: 0 done, 1 the job ran but found problems (unreachable nodes, differences),
//! 2 bad input (config, arguments) — nothing was changed.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::copy::{CopyOptions, copy, verify};
use crate::reshard::{ReshardOptions, reshard};
use crate::{ToolError, cfg, check, grow, plan};
use clap::{Parser, Subcommand};

/// A process exit status (`std::process::ExitCode` cannot be read back as a number, and the
/// Python console script needs the number).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExitCode(pub u8);

impl ExitCode {
    pub const SUCCESS: ExitCode = ExitCode(0);

    pub fn from(code: u8) -> ExitCode {
        ExitCode(code)
    }
}

#[derive(Parser)]
#[command(
    name = "rediscluster",
    version,
    about = "Client-side sharded Redis: placement, inspection and migration tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum Command {
    /// The node each key is (or will be) stored on, with its stored name (hash tags honoured).
    Nodefor {
        /// The cluster: a JSON/TOML file with the seed's shape, or comma-separated redis:// URLs.
        #[arg(long)]
        cluster: String,
        /// Place by this distribution instead of the config's: crc32, elastic, redisarray,
        /// predis, twemproxy, or a JSON map ('{"name": "twemproxy", "hash": "murmur"}').
        #[arg(long)]
        distribution: Option<String>,
        #[arg(required = true)]
        keys: Vec<String>,
    },
    /// The topology as the client sees it: masters in placement order and their replicas.
    Info {
        #[arg(long)]
        cluster: String,
    },
    /// Every node reachable, replicas and their link and lag, keys per node, and keys that sit
    /// on a node their stored name does not hash to.
    Check {
        #[arg(long)]
        cluster: String,
        /// Skip the key scan (placement counts).
        #[arg(long)]
        no_scan: bool,
    },
    /// Copy every key of a server (or cluster) into a cluster, placed by the contract.
    Copy {
        /// Source: redis://host:port/db, or a cluster config (every master is read).
        #[arg(long)]
        from: String,
        /// Destination cluster config (or a URL: one server).
        #[arg(long)]
        to: String,
        /// Only keys matching this SCAN pattern.
        #[arg(long = "match")]
        pattern: Option<String>,
        /// Keys per SCAN step and pipeline.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        /// Resume point, written after confirmed batches (every 100 ms, and at the end); run
        /// the same command again to continue after an interruption.
        #[arg(long)]
        state: Option<PathBuf>,
        /// Afterwards, compare every source key with its copy (value and expiry).
        #[arg(long)]
        verify: bool,
        /// Into a Redis Cluster: a regex whose first group is the hash tag a client stripped
        /// from a stored name (`^(user:\d+):`); the key is copied as `name{tag}`.
        #[arg(long)]
        tag_rule: Option<String>,
        /// Into a Redis Cluster: also copy keys whose name cannot be recovered (a stored name
        /// that no rule matches, on a node that name does not hash to) under their stored
        /// name. Without it they are counted and left out.
        #[arg(long)]
        route_untagged_by_name: bool,
        /// At most this many keys copied per second (default: as fast as the servers go).
        #[arg(long)]
        rate: Option<f64>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Before a reshard: how many keys each master would keep, lose and gain, and how many
    /// move in all, placed as reshard places them.
    Plan {
        /// The cluster as it is now.
        #[arg(long)]
        from: String,
        /// The cluster as it will be.
        #[arg(long)]
        to: String,
        /// Place only the first N keys of each old master (scaled to its DBSIZE).
        #[arg(long)]
        sample: Option<u64>,
        /// Place N random keys instead, touching no server.
        #[arg(long)]
        random: Option<u64>,
        /// As reshard's --tag-rule.
        #[arg(long)]
        tag_rule: Option<String>,
        /// As reshard's --route-untagged-by-name.
        #[arg(long)]
        route_untagged_by_name: bool,
    },
    /// An elastic cluster with more masters: prints the config with the new masters added, each
    /// taking an even share of slots from the fullest masters (only those slots move).
    Grow {
        /// The elastic cluster config (a file or JSON text).
        #[arg(long)]
        cluster: String,
        /// A new master's host:port (repeat for several).
        #[arg(long, required = true)]
        add: Vec<String>,
    },
    /// Change the masters or the distribution: move every key whose node changes from the old
    /// config's masters to the new config's, deleting the old copy once the new one is
    /// confirmed.
    Reshard {
        /// The cluster as it is now.
        #[arg(long)]
        from: String,
        /// The cluster as it will be.
        #[arg(long)]
        to: String,
        /// A regex whose first group is the hash tag of a stored name (`^(user:\d+):`): keys
        /// placed by a tag cannot be re-placed from their stored name alone.
        #[arg(long)]
        tag_rule: Option<String>,
        /// Also move keys that sit on a node their name does not hash to (and no rule
        /// matches), routing them by name. Without it they stay, counted.
        #[arg(long)]
        route_untagged_by_name: bool,
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        #[arg(long)]
        state: Option<PathBuf>,
        /// Count what would move; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// At most this many keys moved per second (default: as fast as the servers go): a
        /// live move leaves the servers room for the application.
        #[arg(long)]
        rate: Option<f64>,
        #[arg(long)]
        quiet: bool,
    },
}

/// Runs the command line given as `args` (program name first) and answers the exit status.
pub fn main_with_args(args: Vec<String>) -> u8 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(usage) => {
            let _ = usage.print();
            return u8::try_from(usage.exit_code()).unwrap_or(2);
        }
    };
    let code = match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("rediscluster: {error}");
            ExitCode::from(exit_status(&error))
        }
    };
    code.0
}

/// The exit status of a failed command: 2 for bad input (nothing changed), 1 for a failure
/// met while working (a node, a worker), after which some of the work may be done.
pub fn exit_status(error: &ToolError) -> u8 {
    match error {
        ToolError::Config(_) | ToolError::State { .. } => 2,
        ToolError::Node { .. } | ToolError::Cluster(_) | ToolError::Worker(_) => 1,
    }
}

/// How many keys the source masters hold (DBSIZE), for the progress bar's length and ETA.
fn source_keys(config: &cluster_core::ClusterConfig) -> u64 {
    config
        .masters
        .iter()
        .filter_map(|node| crate::nodes::connect(node).ok())
        .filter_map(|mut c| redis::cmd("DBSIZE").query::<u64>(&mut c).ok())
        .sum()
}

/// Runs `job` with a progress callback: when `show`, a bar with keys/s and ETA on stderr,
/// counted against the keys the sources hold, cleared at the end.
fn with_progress<T>(
    show: bool,
    from: &cluster_core::ClusterConfig,
    done: &str,
    job: impl FnOnce(&(dyn Fn(u64) + Sync)) -> T,
) -> T {
    let bar = show.then(|| {
        let bar = indicatif::ProgressBar::new(source_keys(from));
        let template = format!("{{bar:40}} {{pos}}/{{len}} keys {done}, {{per_sec}}, ETA {{eta}}");
        bar.set_style(
            indicatif::ProgressStyle::with_template(&template)
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let result = job(&|count| {
        if let Some(bar) = &bar {
            bar.set_position(count);
        }
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    result
}

fn print_plan(plan: &plan::Plan) {
    println!(
        "{:<8} {:<22} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "node", "addr", "keys", "stay", "lose", "gain", "after"
    );
    for n in &plan.nodes {
        println!(
            "{:<8} {:<22} {:>10} {:>10} {:>10} {:>10} {:>10}{}",
            n.name,
            n.addr,
            n.keys,
            n.stay,
            n.lose,
            n.gain,
            n.after,
            if n.unplaceable > 0 {
                format!("  ({} cannot be placed by name: they stay)", n.unplaceable)
            } else {
                String::new()
            }
        );
    }
    println!(
        "{} {} of {} keys ({:.2} %){}; fullest master after / emptiest: {:.3}",
        if plan.sampled { "about" } else { "moves" },
        plan.moving,
        plan.keys,
        plan.fraction_moving * 100.0,
        if plan.sampled {
            format!(" move (from a sample of {} keys)", plan.placed)
        } else {
            String::new()
        },
        plan.fullest_over_emptiest
    );
}

fn print_json(value: &impl serde::Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

fn run(cli: Cli) -> Result<ExitCode, ToolError> {
    match cli.command {
        Command::Nodefor {
            cluster,
            distribution,
            keys,
        } => {
            let config = cfg::load_with_distribution(&cluster, distribution.as_deref())?;
            // A Redis Cluster's map lives on its servers: asked once, as a client asks it.
            let live = match config.redis_cluster {
                true => Some(
                    cluster_core::Cluster::new(config.clone())
                        .map_err(|e| ToolError::Config(e.to_string()))?,
                ),
                false => None,
            };
            let rows: Vec<serde_json::Value> = keys
                .iter()
                .map(|key| {
                    // Placed as the client with this config places it: its routing rules,
                    // then its tag mode (on a Redis Cluster, the unit is the slot).
                    let placement = &config.placement;
                    let placed = placement.place(key.as_bytes(), config.masters.len());
                    let node = match &live {
                        Some(cluster) => cluster.node_config_for(key),
                        None => &config.masters[placed.shard],
                    };
                    let rule = placement.rules.first_match(key.as_bytes());
                    serde_json::json!({
                        "key": key,
                        "stored": String::from_utf8_lossy(placed.stored),
                        "node": node.name,
                        "addr": node.addr(),
                        "route": String::from_utf8_lossy(placed.route),
                        "rule": rule.map(|(at, _)| at + 1),
                    })
                })
                .collect();
            if cli.json {
                print_json(&rows);
            } else {
                for row in rows {
                    println!(
                        "{}\t{}\t{}\t{}",
                        row["key"].as_str().unwrap_or(""),
                        row["node"].as_str().unwrap_or(""),
                        row["addr"].as_str().unwrap_or(""),
                        row["stored"].as_str().unwrap_or("")
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Info { cluster } => {
            let topology = check::info(&cfg::load(&cluster)?)?;
            if cli.json {
                print_json(&topology);
            } else {
                for master in &topology.masters {
                    println!(
                        "{:<8} {:<22} db {}  replicas: {}",
                        master.name,
                        master.addr,
                        master.db,
                        if master.replicas.is_empty() {
                            "-".to_owned()
                        } else {
                            master.replicas.join(", ")
                        }
                    );
                }
                println!(
                    "reads: {}",
                    if topology.masters_only {
                        "masters only"
                    } else {
                        "replicas when there are"
                    }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { cluster, no_scan } => {
            let reports = check::check(&cfg::load(&cluster)?, !no_scan);
            let healthy = reports.iter().all(check::NodeReport::healthy);
            if cli.json {
                print_json(&reports);
            } else {
                println!(
                    "{:<8} {:<22} {:<10} {:>10} {:>12} {:>8}  replicas",
                    "node", "addr", "reachable", "keys", "not placed", "shared"
                );
                for r in &reports {
                    let replicas: Vec<String> = r
                        .replicas
                        .iter()
                        .map(|x| {
                            format!(
                                "{} link {} lag {}",
                                x.addr,
                                x.link,
                                x.lag_bytes.map_or("?".to_owned(), |l| l.to_string())
                            )
                        })
                        .collect();
                    println!(
                        "{:<8} {:<22} {:<10} {:>10} {:>12} {:>8}  {}",
                        r.name,
                        r.addr,
                        if r.reachable { "yes" } else { "NO" },
                        r.keys.map_or("-".to_owned(), |k| k.to_string()),
                        r.foreign_keys.map_or("-".to_owned(), |k| k.to_string()),
                        r.shared_names.map_or("-".to_owned(), |k| k.to_string()),
                        replicas.join("; ")
                    );
                    if !r.shared_examples.is_empty() {
                        println!("         shared names: {}", r.shared_examples.join(", "));
                    }
                    if let Some(error) = &r.error {
                        println!("         {error}");
                    }
                }
                println!(
                    "(not placed: keys whose stored name places them on another master: misplaced, or placed by a hash tag)"
                );
                println!(
                    "(shared: of those, names that also exist on another master: keys with different tags stored under one name, as tags: \"strip\" does (LIMITS:{{a}} and LIMITS:{{b}} are both LIMITS:), or a stale copy; see the README on 'tags')"
                );
            }
            Ok(if healthy {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Plan {
            from,
            to,
            sample,
            random,
            tag_rule,
            route_untagged_by_name,
        } => {
            let (from, to) = (cfg::load(&from)?, cfg::load(&to)?);
            let request = plan::PlanRequest {
                random,
                sample,
                tag_rule: tag_rule.as_deref(),
                route_unplaceable_by_name: route_untagged_by_name,
            };
            let plan = plan::plan_for(&from, &to, &request)?;
            if cli.json {
                print_json(&plan);
            } else {
                print_plan(&plan);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Grow { cluster, add } => {
            let grown = grow::grow(&cfg::load_value(&cluster)?, &add)?;
            print_json(&grown);
            Ok(ExitCode::SUCCESS)
        }
        Command::Reshard {
            from,
            to,
            tag_rule,
            route_untagged_by_name,
            batch,
            state,
            dry_run,
            rate,
            quiet,
        } => {
            let from = cfg::load(&from)?;
            let to = cfg::load_destination(&to)?;
            let options = ReshardOptions {
                batch,
                state,
                tag_rule: crate::reshard::tag_rule_of(tag_rule.as_deref())?,
                route_unplaceable_by_name: route_untagged_by_name,
                dry_run,
                rate,
            };
            let show = !quiet && !cli.json && std::io::stderr().is_terminal();
            let summary = with_progress(show, &from, "scanned", |progress| {
                reshard(&from, &to, &options, progress)
            })?;
            if cli.json {
                print_json(&summary);
            } else {
                println!(
                    "{} {} keys ({} stayed, {} already newer on their new node) of {} scanned in {:.1} s, {:.0} keys/s{}",
                    if dry_run { "would move" } else { "moved" },
                    summary.moved,
                    summary.stayed,
                    summary.newer_on_destination,
                    summary.scanned,
                    summary.seconds,
                    summary.keys_per_second,
                    if summary.resumed { ", resumed" } else { "" }
                );
                if summary.unplaceable > 0 {
                    println!(
                        "{} keys sit on a node their stored name does not hash to (placed by a hash tag, or misplaced) and were left where they are: give --tag-rule to place them by their tag, or --route-untagged-by-name",
                        summary.unplaceable
                    );
                }
            }
            Ok(if summary.unplaceable == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Copy {
            from,
            to,
            pattern,
            batch,
            state,
            verify: check_after,
            tag_rule,
            route_untagged_by_name,
            rate,
            quiet,
        } => {
            let from = cfg::load(&from)?;
            let to = cfg::load_destination(&to)?;
            let options = CopyOptions {
                pattern,
                batch,
                state,
                tag_rule: crate::reshard::tag_rule_of(tag_rule.as_deref())?,
                route_unplaceable_by_name: route_untagged_by_name,
                rate,
            };
            let show = !quiet && !cli.json && std::io::stderr().is_terminal();
            let summary = with_progress(show, &from, "copied", |progress| {
                copy(&from, &to, &options, progress)
            })?;
            let verified = if check_after {
                Some(verify(&from, &to, &options, 1000)?)
            } else {
                None
            };
            let differences = summary.unplaceable
                + verified.as_ref().map_or(0, |v| {
                    v.missing + v.different + v.ttl_different + v.unplaceable
                });
            if cli.json {
                print_json(&serde_json::json!({ "copy": summary, "verify": verified }));
            } else {
                println!(
                    "copied {} keys ({} expired meanwhile) in {:.1} s, {:.0} keys/s{}",
                    summary.copied,
                    summary.expired,
                    summary.seconds,
                    summary.keys_per_second,
                    if summary.resumed { ", resumed" } else { "" }
                );
                if summary.unplaceable > 0 {
                    println!(
                        "{} keys were left out: their stored name does not say the name clients write (a hash tag stripped, or misplaced): give --tag-rule to put their tag back, or --route-untagged-by-name",
                        summary.unplaceable
                    );
                }
                if let Some(v) = &verified {
                    println!(
                        "verified {} keys: {} missing, {} different, {} with another expiry, {} not named{}",
                        v.checked,
                        v.missing,
                        v.different,
                        v.ttl_different,
                        v.unplaceable,
                        if v.examples.is_empty() {
                            String::new()
                        } else {
                            format!(" (e.g. {})", v.examples.join(", "))
                        }
                    );
                }
            }
            Ok(if differences == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}
