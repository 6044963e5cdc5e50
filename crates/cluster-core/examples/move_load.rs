//! The Rust client of `bench/move_to_redis_cluster.py`: reads and writes the move's data set at
//! a steady rate while the deployment moves, checking every read. The data set, the phases and
//! the output are described in that script's docstring; this is the same loop as its Python
//! client and `bench/move_load.php`.
//!
//! Usage: `move_load CLIENT_ID KEYS CONTROL_DIR OUT.json OPS_PER_SECOND`

use std::collections::BTreeMap;
use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cluster_core::{Cluster, ClusterConfig, Value};

/// What a read of key `i` answers when the key is there.
enum Expected {
    Text(String),
    Int(i64),
}

fn kind(i: u64) -> char {
    match i % 20 {
        0..=11 => 's',
        12 | 13 => 'h',
        14 | 15 => 'l',
        16 | 17 => 'e',
        18 => 'z',
        _ => 'x',
    }
}

fn name(i: u64) -> String {
    let kind = kind(i);
    match i % 2 {
        0 => format!("u:{i}:{kind}{{u:{i}}}"),
        _ => format!("p:{i}:{kind}"),
    }
}

/// The read of key `i` and what it answers.
fn read_of(i: u64) -> (Vec<String>, Expected) {
    let (key, value) = (name(i), format!("v{i}"));
    let text = |v: &str| Expected::Text(v.to_owned());
    match kind(i) {
        's' => (vec!["GET".into(), key], text(&value)),
        'h' => (vec!["HGET".into(), key, "a".into()], text(&value)),
        'l' => (vec!["LINDEX".into(), key, "0".into()], text(&value)),
        'e' => (vec!["SISMEMBER".into(), key, value], Expected::Int(1)),
        'z' => (vec!["ZSCORE".into(), key, value], text("1")),
        _ => (vec!["XLEN".into(), key], Expected::Int(1)),
    }
}

fn mutable(i: u64) -> bool {
    i % 20 == 1
}

fn owner(i: u64) -> u64 {
    (i / 20) % 3
}

/// A tiny xorshift: the load needs spread, not quality.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[derive(Default)]
struct Phase {
    latencies_us: Vec<u64>,
    failed: u64,
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn phase_now(control: &Path) -> String {
    std::fs::read_to_string(control.join("phase"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "before".to_owned())
}

/// The clients' config in a phase: the old masters', the window's, then the cluster's.
fn config_file(phase: &str) -> &'static str {
    match phase {
        "before" => "before.json",
        "closed" => "cluster.json",
        _ => "window.json",
    }
}

fn client(control: &Path, phase: &str) -> Result<Cluster, Box<dyn Error>> {
    let text = std::fs::read_to_string(control.join(config_file(phase)))?;
    Ok(Cluster::new(ClusterConfig::from_json(&text)?)?)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, me, keys, control, out, rate] = args.as_slice() else {
        return Err("usage: move_load CLIENT_ID KEYS CONTROL_DIR OUT.json OPS_PER_SECOND".into());
    };
    let (me, keys, rate): (u64, u64, f64) = (me.parse()?, keys.parse()?, rate.parse()?);
    let control = PathBuf::from(control);
    let mut owned: Vec<u64> = (0..keys)
        .filter(|&i| mutable(i) && owner(i) == me)
        .collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (me + 1));
    let mut phase = phase_now(&control);
    let mut cluster = client(&control, &phase)?;
    let mut on_config = config_file(&phase);
    let mut phases: BTreeMap<String, Phase> = BTreeMap::new();
    let mut last_written: BTreeMap<u64, String> = BTreeMap::new();
    let mut acknowledged: BTreeMap<String, String> = BTreeMap::new();
    let mut uncertain: Vec<(String, String)> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let mut wrong_writes: u64 = 0;
    let (start, mut checked) = (Instant::now(), Instant::now());
    let mut ops: u64 = 0;
    let mut seq: u64 = 0;
    loop {
        if checked.elapsed() > Duration::from_millis(50) {
            checked = Instant::now();
            phase = phase_now(&control);
            if phase == "stop" {
                break;
            }
            if config_file(&phase) != on_config {
                cluster = client(&control, &phase)?;
                on_config = config_file(&phase);
            }
        }
        ops += 1;
        if rng.below(10) == 0 {
            // A write: one of this client's mutable keys, or a new key.
            seq += 1;
            let (command, key, value, index) = if rng.below(2) == 0 && !owned.is_empty() {
                // APPEND depends on the value the key has, wherever it is.
                let i = owned[rng.below(owned.len() as u64) as usize];
                let suffix = format!("|{me}:{seq}");
                let now = last_written.get(&i).cloned().unwrap_or(format!("v{i}"));
                ("APPEND", name(i), (suffix.clone(), now + &suffix), Some(i))
            } else {
                let value = format!("n:{seq}");
                (
                    "SET",
                    format!("new:{me}:{seq}"),
                    (value.clone(), value),
                    None,
                )
            };
            let (sent, value) = value;
            match cluster.execute(&[command, &key, &sent]) {
                Ok(reply @ (Value::Okay | Value::Int(_))) => {
                    if let Value::Int(length) = reply
                        && length as usize != value.len()
                    {
                        // APPEND's new length: the append acted on another value than the key's.
                        wrong_writes += 1;
                        if failures.len() < 20 {
                            failures.push(format!(
                                "{phase}: APPEND {key} made {length} bytes, not {}",
                                value.len()
                            ));
                        }
                    }
                    if let Some(i) = index {
                        last_written.insert(i, value.clone());
                    }
                    acknowledged.insert(key, value);
                }
                _ => {
                    uncertain.push((key, value));
                    // Its value is not known any more: not written again, read as anyone's.
                    if let Some(i) = index {
                        owned.retain(|&o| o != i);
                        last_written.remove(&i);
                    }
                }
            }
        } else {
            let i = rng.below(keys);
            let (read, expected) = read_of(i);
            let began = Instant::now();
            let reply = cluster.execute(&read);
            let took = began.elapsed().as_micros() as u64;
            let good = match (&reply, &expected) {
                (Ok(Value::BulkString(got)), Expected::Text(want)) if mutable(i) => {
                    match last_written.get(&i) {
                        Some(mine) => got == mine.as_bytes(),
                        None => {
                            got == want.as_bytes() || got.starts_with(format!("{want}|").as_bytes())
                        }
                    }
                }
                (Ok(Value::BulkString(got)), Expected::Text(want)) => got == want.as_bytes(),
                (Ok(Value::Int(got)), Expected::Int(want)) => got == want,
                _ => false,
            };
            let entry = phases.entry(phase.clone()).or_default();
            entry.latencies_us.push(took);
            if !good {
                entry.failed += 1;
                if failures.len() < 20 {
                    failures.push(format!("{phase}: {read:?} answered {reply:?}"));
                }
            }
        }
        // A steady rate: the same load before and during the move.
        let due = start + Duration::from_secs_f64(ops as f64 / rate);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    let phases: serde_json::Map<String, serde_json::Value> = phases
        .into_iter()
        .map(|(name, mut phase)| {
            phase.latencies_us.sort_unstable();
            let sorted = &phase.latencies_us;
            let summary = serde_json::json!({
                "reads": sorted.len(),
                "failed": phase.failed,
                "p50_us": percentile(sorted, 0.50),
                "p99_us": percentile(sorted, 0.99),
                "max_us": sorted.last().copied().unwrap_or(0),
            });
            (name, summary)
        })
        .collect();
    let report = serde_json::json!({
        "client": "rust",
        "phases": phases,
        "wrong_writes": wrong_writes,
        "failures": failures,
        "acknowledged": acknowledged,
        "uncertain": uncertain,
    });
    std::fs::write(out, report.to_string())?;
    Ok(())
}
