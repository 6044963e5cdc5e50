//! `rediscluster reshard` against real servers: 3 → 5 masters and back to 3, with keys written
//! through the client (plain names, names placed by a tag that a `--tag-rule` recovers, and
//! names placed by a tag nothing can recover). After each step, the client with the new config
//! finds every placeable key with its value; the unplaceable ones are counted and left alone.
//! Then the same deployment into a Redis Cluster (`into_a_redis_cluster`).

#[path = "../../cluster-core/tests/support/mod.rs"]
mod support;

use cluster_core::{Cluster, ClusterConfig, Value};
use rediscluster_tools::check::check;
use rediscluster_tools::copy::{CopyOptions, copy, verify};
use rediscluster_tools::reshard::{ReshardOptions, ReshardSummary, reshard};
use support::redis_cluster::RedisClusterServers;
use support::{config_of, slot, start_masters};

fn config(servers: &[support::RedisServer]) -> ClusterConfig {
    ClusterConfig::from_value(&config_of(servers))
        .unwrap()
        .masters_only(true)
}

fn get(cluster: &Cluster, key: &str) -> Value {
    cluster.execute(&["GET", key]).unwrap()
}

/// The online window under a reshard: every `every`-th key is written first, in turn by the
/// window client `during` (which moves the key off its old master first) and by `direct`, a
/// client of the new servers alone (the move must keep its value: RESTORE never replaces);
/// then `during` reads every key (GET each, and one MGET of the first 40) pass after pass until
/// `reshard` returns: each read answers the value written in the window, never a miss, and at
/// least two passes read through the move. A key `direct` wrote is outside the window's
/// contract (every writer goes through the window): into a Redis Cluster, where the window
/// reads a key the move has not reached on its old master alone, it may read as it was until
/// the move reaches it (`redis_cluster`), never after the move. The reshard's summary, and the
/// keys written in the window.
fn read_through_a_reshard(
    during: &Cluster,
    direct: &Cluster,
    keys: &[String],
    every: usize,
    redis_cluster: bool,
    reshard: impl FnOnce() -> Result<ReshardSummary, rediscluster_tools::ToolError>,
) -> (ReshardSummary, Vec<String>) {
    let updated: Vec<String> = keys.iter().step_by(every).cloned().collect();
    for (key, writer) in updated.iter().zip([during, direct].iter().cycle()) {
        writer
            .execute(&["SET", key, "written during the window"])
            .unwrap();
    }
    let done = std::sync::atomic::AtomicBool::new(false);
    let (summary, passes) = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut passes = 0;
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let direct_keys: Vec<&String> = updated.iter().skip(1).step_by(2).collect();
                // Once the move is done (the last pass), every key reads what was written.
                let fits = |key: &String, value: &Value| {
                    *value == expected(&updated, key)
                        || (redis_cluster
                            && !finished
                            && direct_keys.contains(&key)
                            && *value == expected(&[], key))
                };
                for key in keys {
                    let value = get(during, key);
                    assert!(fits(key, &value), "{key}: {value:?}");
                }
                let some = &keys[..keys.len().min(40)];
                let mut mget = vec!["MGET"];
                mget.extend(some.iter().map(String::as_str));
                let Value::Array(values) = during.execute(&mget).unwrap() else {
                    panic!("MGET answers a list")
                };
                for (key, value) in some.iter().zip(values) {
                    assert!(fits(key, &value), "MGET {key}: {value:?}");
                }
                passes += 1;
                if finished {
                    return passes;
                }
            }
        });
        let summary = reshard();
        // Stop the reader before anything may panic here, or the scope would wait for it.
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        (summary.unwrap(), reader.join().unwrap())
    });
    assert!(
        passes >= 2,
        "the reader read through the whole reshard ({passes} passes)"
    );
    (summary, updated)
}

/// Keys written through a client, each set to `value of KEY`.
struct Families {
    /// `plain:N`: stored under their own name.
    plain: Vec<String>,
    /// `user:N:WHAT{user:N}`: stored as `user:N:WHAT` on user:N's node, where the rule
    /// `^(user:\d+):` finds the tag again.
    ruled: Vec<String>,
    /// `lost:N{t}`: stored as `lost:N` on t's node; nothing in the stored name says where it
    /// belongs.
    lost: Vec<String>,
}

/// Writes `plain` plain keys, `ruled` keys under a tag the rule recovers (named `what`) and 30
/// lost ones through `client`.
fn write_families(client: &Cluster, plain: usize, ruled: usize, what: &str) -> Families {
    let families = Families {
        plain: (0..plain).map(|i| format!("plain:{i}")).collect(),
        ruled: (0..ruled)
            .map(|i| format!("user:{i}:{what}{{user:{i}}}"))
            .collect(),
        lost: (0..30).map(|i| format!("lost:{i}{{t}}")).collect(),
    };
    let Families { plain, ruled, lost } = &families;
    for key in plain.iter().chain(ruled).chain(lost) {
        client
            .execute(&["SET", key, &format!("value of {key}")])
            .unwrap();
    }
    families
}

/// Starts the job with `run` and kills it with SIGKILL after each pause (ms), then runs it to
/// its end: at least `at_least` runs must really have been interrupted, and the last succeed.
fn killed_then_finished(run: impl Fn() -> std::process::Child, pauses: &[u64], at_least: usize) {
    use std::os::unix::process::ExitStatusExt;
    let mut interrupted = 0;
    for &pause in pauses {
        let mut child = run();
        std::thread::sleep(std::time::Duration::from_millis(pause));
        let _ = child.kill(); // it may have finished already
        // Interrupted only if the signal ended it.
        if child.wait().unwrap().signal() == Some(SIGKILL) {
            interrupted += 1;
        }
    }
    assert!(
        interrupted >= at_least,
        "the job must really be interrupted ({interrupted} of {})",
        pauses.len()
    );
    assert!(run().wait().unwrap().success());
}

/// SIGKILL's number (9 on every Unix), without a libc dependency for one constant.
const SIGKILL: i32 = 9;

/// What a key written as `value of KEY` reads after the window wrote `updated`.
fn expected(updated: &[String], key: &String) -> Value {
    let value = if updated.contains(key) {
        "written during the window".to_owned()
    } else {
        format!("value of {key}")
    };
    Value::BulkString(value.into_bytes())
}

#[test]
fn reshard_three_to_five_and_back() {
    let servers = start_masters(slot::RESHARD, 5);
    let (three, five) = (config(&servers[..3]), config(&servers));
    // One server named two ways across the configs is refused before anything moves: its keys
    // would be taken for keys that move, restored onto themselves, and deleted.
    let mut renamed = config_of(&servers[..3]);
    renamed["nodes"]["node_2"]["host"] = "localhost".into();
    let refused = reshard(
        &ClusterConfig::from_value(&renamed).unwrap(),
        &five,
        &ReshardOptions::default(),
        &|_| {},
    )
    .unwrap_err();
    assert!(refused.to_string().contains("one server"), "{refused}");
    let before = Cluster::new(three.clone()).unwrap();
    let Families { plain, ruled, lost } = write_families(&before, 600, 300, "profile");
    // A lost key is unplaceable unless its stored name hashes to the node it is on, under the
    // old config (it could have been written by name) or under the new one (it is in place).
    let grown = Cluster::new(five.clone()).unwrap();
    let unplaceable_lost = lost
        .iter()
        .filter(|k| {
            let stored = &k[..k.find('{').unwrap()];
            let on = before.node_for(k);
            before.node_for(stored) != on && grown.node_for(stored) != on
        })
        .count() as u64;
    let options = ReshardOptions {
        batch: 64,
        tag_rule: Some(regex::bytes::Regex::new(r"^(user:\d+):").unwrap()),
        ..ReshardOptions::default()
    };
    // A dry run changes nothing.
    let dry = reshard(
        &three,
        &five,
        &ReshardOptions {
            dry_run: true,
            ..options.clone()
        },
        &|_| {},
    )
    .unwrap();
    assert!(dry.moved > 0);
    assert_eq!(
        get(&before, &plain[0]),
        Value::BulkString(format!("value of {}", plain[0]).into_bytes())
    );

    let up = reshard(&three, &five, &options, &|_| {}).unwrap();
    // Keys that moved onto a node still being walked are seen there again (and stay).
    assert!(up.scanned >= 930);
    assert_eq!(up.unplaceable, unplaceable_lost);
    assert!(up.moved > 300, "3 -> 5 moves most keys: {up:?}");
    let after = Cluster::new(five.clone()).unwrap();
    for key in plain.iter().chain(&ruled) {
        assert_eq!(
            get(&after, key),
            Value::BulkString(format!("value of {key}").into_bytes()),
            "{key}"
        );
    }
    // Nothing was left behind: every key is on exactly one server.
    let total: i64 = servers
        .iter()
        .map(|s| redis::cmd("DBSIZE").query::<i64>(&mut s.connect()).unwrap())
        .sum();
    assert_eq!(total, 930);

    let down = reshard(&five, &three, &options, &|_| {}).unwrap();
    assert_eq!(
        down.unplaceable, up.unplaceable,
        "the lost keys stayed where they were"
    );
    let back = Cluster::new(three).unwrap();
    for key in plain.iter().chain(&ruled) {
        assert_eq!(
            get(&back, key),
            Value::BulkString(format!("value of {key}").into_bytes()),
            "{key}"
        );
    }
    let on_new_nodes: i64 = servers[3..]
        .iter()
        .map(|s| redis::cmd("DBSIZE").query::<i64>(&mut s.connect()).unwrap())
        .sum();
    assert_eq!(
        on_new_nodes as u64, 0,
        "5 -> 3 empties the two removed masters (but for unplaceable keys there)"
    );

    // The online window: a client configured with the 5 masters and `previous` = the 3 old
    // ones reads every key, before, during and after a reshard, and never misses one; what it
    // writes meanwhile goes to the new masters and wins over the copies being moved.
    for server in &servers {
        redis::cmd("FLUSHALL")
            .query::<()>(&mut server.connect())
            .unwrap();
    }
    let old = Cluster::new(config(&servers[..3])).unwrap();
    for key in plain.iter().chain(&ruled) {
        old.execute(&["SET", key, &format!("value of {key}")])
            .unwrap();
    }
    let mut window = config_of(&servers);
    window["previous"] = config_of(&servers[..3]);
    window["mastersonly"] = true.into();
    let during = Cluster::new(ClusterConfig::from_value(&window).unwrap()).unwrap();
    let keys: Vec<String> = plain.iter().chain(&ruled).cloned().collect();
    let slow = ReshardOptions {
        batch: 8,
        ..options.clone()
    };
    let direct = Cluster::new(five.clone()).unwrap();
    let (moved, updated) = read_through_a_reshard(&during, &direct, &keys, 12, false, || {
        reshard(&config(&servers[..3]), &five, &slow, &|_| {})
    });
    assert!(
        moved.moved > 300 && moved.newer_on_destination > 0,
        "{moved:?}"
    );
    let after = Cluster::new(five).unwrap();
    for key in &keys {
        assert_eq!(get(&after, key), expected(&updated, key), "{key}");
    }

    // Killed with SIGKILL five times and run again with the same command, a reshard (5 -> 3)
    // finishes with every key found and none left twice.
    for server in &servers {
        redis::cmd("FLUSHALL")
            .query::<()>(&mut server.connect())
            .unwrap();
    }
    let wide = Cluster::new(config(&servers)).unwrap();
    let n = 20_000;
    let mut pipe = Vec::new();
    for i in 0..n {
        pipe.push(vec!["SET".to_owned(), format!("many:{i}"), format!("v{i}")]);
    }
    for result in wide.pipeline(&pipe).unwrap() {
        result.unwrap();
    }
    let dir = std::env::temp_dir().join(format!("rediscluster-reshard-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (from_file, to_file, state) = (
        dir.join("five.json"),
        dir.join("three.json"),
        dir.join("state"),
    );
    std::fs::write(&from_file, config_of(&servers).to_string()).unwrap();
    std::fs::write(&to_file, config_of(&servers[..3]).to_string()).unwrap();
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_rediscluster"))
            .arg("reshard")
            .arg("--from")
            .arg(&from_file)
            .arg("--to")
            .arg(&to_file)
            .arg("--state")
            .arg(&state)
            // Paced, so each run lasts long enough to be killed midway.
            .args(["--batch", "20", "--rate", "10000", "--quiet"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut rng = support::Rng(0x5eed_0c17);
    let pauses: Vec<u64> = (0..5).map(|_| 20 + rng.below(120) as u64).collect();
    killed_then_finished(run, &pauses, 3);
    let narrow = Cluster::new(config(&servers[..3])).unwrap();
    for i in (0..n).step_by(7) {
        let key = format!("many:{i}");
        assert_eq!(
            get(&narrow, &key),
            Value::BulkString(format!("v{i}").into_bytes()),
            "{key}"
        );
    }
    let total: i64 = servers
        .iter()
        .map(|s| redis::cmd("DBSIZE").query::<i64>(&mut s.connect()).unwrap())
        .sum();
    assert_eq!(
        total, n as i64,
        "every key once, none lost, none left behind"
    );
    let _ = std::fs::remove_dir_all(&dir);

    placed_by_the_configs_placement(&servers);
    check_reports_names_that_several_tags_share(&servers);
    from_a_redisarray_deployment_to_elastic_slots(&servers);
    a_refused_delete_stops_the_reshard(&servers);
    the_marks_say_how_far_the_move_got(&servers);
    every_old_master_is_marked_from_the_start(&servers[..3]);
    into_a_redis_cluster(&servers[..3]);
}

/// A move publishes on each old master the bucket below which it holds no key that moves any
/// more (`cluster_core::move_progress`), and the clients in the window trust it: watched
/// throughout a paced 3 -> 5 move, no old master ever holds a key that moves below its mark
/// (the mark read first, then the keys), the marks rise through the move but never past a key
/// that cannot be placed (it stays), and none is left.
fn the_marks_say_how_far_the_move_got(servers: &[support::RedisServer]) {
    use cluster_core::move_progress::{PROGRESS_KEY, bucket, parse_mark};
    use cluster_core::placement::master_index_for_key;
    for server in servers {
        redis::cmd("FLUSHALL")
            .query::<()>(&mut server.connect())
            .unwrap();
    }
    let three = Cluster::new(config(&servers[..3])).unwrap();
    let writes: Vec<Vec<String>> = (0..3000)
        .map(|i| vec!["SET".into(), format!("m{i}"), "v".into()])
        .collect();
    three.pipeline(&writes).unwrap();
    // A stored name that looks tagged cannot be placed: it stays, and holds node_0's mark at
    // its bucket, mid-way.
    let stuck = (0..)
        .map(|i| format!("m{{t{i}}}"))
        .find(|name| (6000..10000).contains(&bucket(name.as_bytes())))
        .unwrap();
    let stuck_at = bucket(stuck.as_bytes());
    redis::cmd("SET")
        .arg(&stuck)
        .arg("v")
        .exec(&mut servers[0].connect())
        .unwrap();
    // A key that leaves old master `old` (a key arriving there from another is at home).
    let leaves = |key: &[u8], old: usize| {
        let from = master_index_for_key(key, 3);
        from == old && from != master_index_for_key(key, 5)
    };
    let options = ReshardOptions {
        batch: 10,
        rate: Some(2000.0),
        ..ReshardOptions::default()
    };
    let done = std::sync::atomic::AtomicBool::new(false);
    let marks_seen = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            let mut seen: Vec<std::collections::BTreeSet<u32>> = vec![Default::default(); 3];
            let mut connections: Vec<_> = servers[..3].iter().map(|s| s.connect()).collect();
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                for (old, connection) in connections.iter_mut().enumerate() {
                    let mark: Option<Vec<u8>> = redis::cmd("GET")
                        .arg(PROGRESS_KEY)
                        .query(connection)
                        .unwrap();
                    let Some(mark) = mark.and_then(|m| parse_mark(&m)) else {
                        continue;
                    };
                    seen[old].insert(mark);
                    let keys: Vec<Vec<u8>> =
                        redis::cmd("KEYS").arg("m*").query(connection).unwrap();
                    for key in keys {
                        assert!(
                            !(leaves(&key, old) && bucket(&key) < mark),
                            "{} is still on node_{old} below its mark {mark}",
                            String::from_utf8_lossy(&key)
                        );
                    }
                }
            }
            seen
        });
        let summary = reshard(&config(&servers[..3]), &config(servers), &options, &|_| {});
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        let seen = watcher.join().unwrap();
        let summary = summary.unwrap();
        assert!(summary.moved > 1000);
        assert_eq!(summary.unplaceable, 1);
        seen
    });
    for (old, seen) in marks_seen.iter().enumerate() {
        assert!(
            seen.len() >= 3,
            "node_{old}'s mark rose through the move: {seen:?}"
        );
    }
    assert_eq!(
        marks_seen[0].last(),
        Some(&stuck_at),
        "held at the key left behind"
    );
    let left: bool = redis::cmd("EXISTS")
        .arg(&stuck)
        .query(&mut servers[0].connect())
        .unwrap();
    assert!(left);
    for server in &servers[..3] {
        let left: i64 = redis::cmd("EXISTS")
            .arg(PROGRESS_KEY)
            .query(&mut server.connect())
            .unwrap();
        assert_eq!(left, 0, "no mark is left once the move is done");
    }
}

/// Every old master has a mark while the move runs, from before its first key moves: bucket 0
/// on a fresh move, over whatever mark a killed move left (it says nothing of this one), for
/// the mark's lifetime; on a resumed one, the mark the killed run left where it is still alive
/// (it still holds), bucket 0 on the other unfinished masters, nothing written on a finished
/// one; and none afterwards.
fn every_old_master_is_marked_from_the_start(servers: &[support::RedisServer]) {
    use cluster_core::move_progress::{PROGRESS_KEY, PROGRESS_TTL_MS};
    use rediscluster_tools::marks::{Opening, kept_during};
    let sources = config(servers).masters;
    let marks = || -> Vec<Option<String>> {
        servers
            .iter()
            .map(|s| {
                redis::cmd("GET")
                    .arg(PROGRESS_KEY)
                    .query(&mut s.connect())
                    .unwrap()
            })
            .collect()
    };
    // A killed move's mark, with 2 s left to live.
    let left_by_a_killed_move = |server: &support::RedisServer, mark: u32| {
        redis::cmd("SET")
            .arg(PROGRESS_KEY)
            .arg(mark)
            .arg("PX")
            .arg(2000)
            .exec(&mut server.connect())
            .unwrap();
    };
    let lifetime_on = |server: &support::RedisServer| -> i64 {
        redis::cmd("PTTL")
            .arg(PROGRESS_KEY)
            .query(&mut server.connect())
            .unwrap()
    };
    let zero = || Some("0".to_owned());
    left_by_a_killed_move(&servers[1], 700);
    let (mut during, mut lifetime) = (Vec::new(), 0);
    kept_during(&sources, &[Opening::Fresh; 3], || {
        during = marks();
        lifetime = lifetime_on(&servers[1]);
        Ok(())
    })
    .unwrap();
    assert_eq!(during, [zero(), zero(), zero()]);
    assert!(
        (2001..=PROGRESS_TTL_MS as i64).contains(&lifetime),
        "{lifetime}"
    );
    assert_eq!(
        marks(),
        [None, None, None],
        "none left once the move is done"
    );
    // Resumed: the kept mark lives on, renewed at once.
    left_by_a_killed_move(&servers[1], 700);
    let resumed = [Opening::Resumed, Opening::Resumed, Opening::Finished];
    kept_during(&sources, &resumed, || {
        during = marks();
        lifetime = lifetime_on(&servers[1]);
        Ok(())
    })
    .unwrap();
    assert_eq!(during, [zero(), Some("700".to_owned()), None]);
    assert!(
        (2001..=PROGRESS_TTL_MS as i64).contains(&lifetime),
        "{lifetime}"
    );
    assert_eq!(marks(), [None, None, None]);

    // A server that refuses the SET (OOM under noeviction) but not the DEL: no mark at all
    // rather than the killed move's.
    left_by_a_killed_move(&servers[2], 700);
    let config_set = |server: &support::RedisServer, name: &str, value: &str| {
        redis::cmd("CONFIG")
            .arg("SET")
            .arg(name)
            .arg(value)
            .exec(&mut server.connect())
            .unwrap();
    };
    config_set(&servers[2], "maxmemory-policy", "noeviction");
    config_set(&servers[2], "maxmemory", "1");
    let full = kept_during(&sources, &[Opening::Fresh; 3], || {
        during = marks();
        Ok(())
    });
    config_set(&servers[2], "maxmemory", "0");
    full.unwrap();
    assert_eq!(during, [zero(), zero(), None]);
    // One that refuses both (an ACL): the move does not start over a killed move's mark, and
    // starts over bucket 0 or none.
    redis::cmd("ACL")
        .arg(&[
            "SETUSER",
            "marks",
            "on",
            ">marks-pw",
            "~*",
            "&*",
            "+@all",
            "-set",
            "-del",
        ])
        .exec(&mut servers[0].connect())
        .unwrap();
    let mut as_marks = sources.clone();
    as_marks[0].username = Some("marks".to_owned());
    as_marks[0].password = Some(cluster_core::Secret::new("marks-pw"));
    left_by_a_killed_move(&servers[0], 700);
    let mut moved = false;
    let refused = kept_during(&as_marks, &[Opening::Fresh; 3], || {
        moved = true;
        Ok(())
    })
    .unwrap_err()
    .to_string();
    assert!(!moved, "nothing moves over a mark that cannot be removed");
    assert!(refused.contains("refuses SET and DEL"), "{refused}");
    assert!(!refused.contains("marks-pw"), "{refused}");
    left_by_a_killed_move(&servers[0], 0);
    kept_during(&as_marks, &[Opening::Fresh; 3], || Ok(())).unwrap();
    redis::cmd("ACL")
        .arg(&["DELUSER", "marks"])
        .exec(&mut servers[0].connect())
        .unwrap();
    for server in servers {
        redis::cmd("DEL")
            .arg(PROGRESS_KEY)
            .exec(&mut server.connect())
            .unwrap();
    }
}

/// The client-side deployment `old` (tags stripped, crc32) into a Redis Cluster: `copy` and
/// `verify` with the names the clients write (a `--tag-rule` puts stripped tags back), then
/// the live move: `reshard` under the online window of a client configured with the cluster and
/// `previous` = the old masters (every read answered, what the window writes wins), killed and
/// resumed, every key at last on the cluster under its full name and none left behind but
/// those nothing can name.
fn into_a_redis_cluster(old_servers: &[support::RedisServer]) {
    let flush = || {
        for server in old_servers {
            redis::cmd("FLUSHALL")
                .query::<()>(&mut server.connect())
                .unwrap();
        }
    };
    flush();
    let cluster_servers = RedisClusterServers::start();
    let cluster_json = serde_json::json!({
        "redis_cluster": {"nodes": cluster_servers.seeds()},
        "mastersonly": true,
    });
    let to = ClusterConfig::from_value(&cluster_json).unwrap();
    let on_cluster = Cluster::new(to.clone()).unwrap();
    let old = config(old_servers);
    let before = Cluster::new(old.clone()).unwrap();
    let Families { plain, ruled, lost } = write_families(&before, 400, 200, "cart");
    // Other types, an expiry, under tags the rule recovers.
    for i in 0..50 {
        let tag = format!("user:{i}");
        before
            .execute(&["HSET", &format!("{tag}:h{{{tag}}}"), "f", &i.to_string()])
            .unwrap();
        before
            .execute(&["RPUSH", &format!("{tag}:l{{{tag}}}"), "a", "b"])
            .unwrap();
        before
            .execute(&["SET", &format!("ttl:{i}"), "x", "PX", "600000"])
            .unwrap();
    }
    // A lost key is stored as "lost:N" on t's node: named as it is where its name places it
    // (it could have been written so), else it cannot be named.
    let unplaceable = lost
        .iter()
        .filter(|k| before.node_for(k) != before.node_for(&k[..k.find('{').unwrap()]))
        .count() as u64;
    let total = (plain.len() + ruled.len() + lost.len() + 150) as u64;
    let rule = regex::bytes::Regex::new(r"^(user:\d+):").unwrap();

    // copy + verify: every key under the name the clients write; those nothing can name are
    // counted and left out, or copied under their stored names when asked.
    let copy_options = CopyOptions {
        batch: 64,
        tag_rule: Some(rule.clone()),
        ..CopyOptions::default()
    };
    let copied = copy(&old, &to, &copy_options, &|_| {}).unwrap();
    assert_eq!(copied.unplaceable, unplaceable);
    assert_eq!(copied.copied, total - unplaceable);
    let verified = verify(&old, &to, &copy_options, 1000).unwrap();
    assert_eq!(verified.checked, total - unplaceable);
    assert_eq!(verified.unplaceable, unplaceable);
    assert_eq!(
        (verified.missing, verified.different, verified.ttl_different),
        (0, 0, 0),
        "{verified:?}"
    );
    // Without the rule, the tagged keys cannot be named: left out, not misnamed.
    let without_rule = CopyOptions {
        batch: 64,
        ..CopyOptions::default()
    };
    let unnamed = verify(&old, &to, &without_rule, 1000).unwrap();
    assert!(
        unnamed.unplaceable > unplaceable + 100,
        "the tagged keys have no name without the rule: {unnamed:?}"
    );
    for key in plain.iter().chain(&ruled) {
        assert_eq!(
            get(&on_cluster, key),
            Value::BulkString(format!("value of {key}").into_bytes()),
            "{key}"
        );
    }
    assert_eq!(
        on_cluster
            .execute(&["HGET", "user:7:h{user:7}", "f"])
            .unwrap(),
        Value::BulkString(b"7".to_vec())
    );
    on_cluster.execute(&["FLUSHALL"]).unwrap();

    // The live move, read through the window.
    let mut window = cluster_json.clone();
    window["previous"] = config_of(old_servers);
    let during = Cluster::new(ClusterConfig::from_value(&window).unwrap()).unwrap();
    let keys: Vec<String> = plain.iter().chain(&ruled).cloned().collect();
    for key in &keys {
        assert_eq!(
            get(&during, key),
            Value::BulkString(format!("value of {key}").into_bytes()),
            "the window reads {key} on its old master under its old name"
        );
    }
    assert_eq!(
        during
            .execute(&["LRANGE", "user:3:l{user:3}", "0", "-1"])
            .unwrap(),
        Value::Array(vec![
            Value::BulkString(b"a".to_vec()),
            Value::BulkString(b"b".to_vec())
        ])
    );
    // A read of several keys in one slot that Redis runs on one server: every key named as
    // the old master stores it.
    let both = during
        .execute(&[
            "EVAL_RO",
            "return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2])}",
            "2",
            "user:1:cart{user:1}",
            "user:2:cart{user:2}",
        ])
        .map(|_| ())
        .unwrap_err();
    assert!(both.to_string().contains("slot"), "two slots: {both}");
    let Value::Array(values) = during
        .execute(&[
            "EVAL_RO",
            "return {redis.call('GET', KEYS[1]), redis.call('HGET', KEYS[2], 'f')}",
            "2",
            "user:5:cart{user:5}",
            "user:5:h{user:5}",
        ])
        .unwrap()
    else {
        panic!("EVAL_RO answers a list")
    };
    assert_eq!(
        values,
        [
            Value::BulkString(b"value of user:5:cart{user:5}".to_vec()),
            Value::BulkString(b"5".to_vec()),
        ]
    );
    // A write acts on the value the key had on its old master, found under its old name (no
    // rule needed: the client knows the name), and takes the key off there.
    before.execute(&["SET", "count:1{user:1}", "41"]).unwrap();
    before.execute(&["RPUSH", "queue{user:2}", "a"]).unwrap();
    assert_eq!(
        during.execute(&["INCR", "count:1{user:1}"]).unwrap(),
        Value::Int(42)
    );
    assert_eq!(
        during.execute(&["RPUSH", "queue{user:2}", "b"]).unwrap(),
        Value::Int(2)
    );
    assert_eq!(
        before
            .execute(&["EXISTS", "count:1{user:1}", "queue{user:2}"])
            .unwrap(),
        Value::Int(0)
    );
    assert_eq!(
        on_cluster
            .execute(&["LRANGE", "queue{user:2}", "0", "-1"])
            .unwrap(),
        Value::Array(vec![
            Value::BulkString(b"a".to_vec()),
            Value::BulkString(b"b".to_vec())
        ])
    );
    // Not part of the move's count below.
    on_cluster
        .execute(&["DEL", "count:1{user:1}", "queue{user:2}"])
        .unwrap();
    // Paced to last about two seconds: the window reads the move's marks (every 100 ms or so)
    // and reads the keys not moved yet on their old master first.
    let options = ReshardOptions {
        batch: 8,
        tag_rule: Some(rule.clone()),
        rate: Some(total as f64 / 2.0),
        ..ReshardOptions::default()
    };
    let (moved, updated) = read_through_a_reshard(&during, &on_cluster, &keys, 9, true, || {
        reshard(&old, &to, &options, &|_| {})
    });
    assert_eq!(moved.unplaceable, unplaceable, "{moved:?}");
    // The keys the window wrote (every other one of `updated`) had left their old masters.
    let written_through_window = updated.len().div_ceil(2) as u64;
    assert_eq!(
        moved.moved + moved.newer_on_destination + written_through_window,
        total - unplaceable
    );
    assert!(moved.newer_on_destination > 0, "{moved:?}");
    let after = Cluster::new(to.clone()).unwrap();
    for key in &keys {
        assert_eq!(get(&after, key), expected(&updated, key), "{key}");
    }
    assert_eq!(
        after.execute(&["HGET", "user:9:h{user:9}", "f"]).unwrap(),
        Value::BulkString(b"9".to_vec())
    );
    let Value::Int(ttl) = after.execute(&["PTTL", "ttl:4"]).unwrap() else {
        panic!("PTTL answers an integer")
    };
    assert!(ttl > 500_000, "the expiry moved with the key: {ttl}");
    let left: i64 = old_servers
        .iter()
        .map(|s| redis::cmd("DBSIZE").query::<i64>(&mut s.connect()).unwrap())
        .sum();
    assert_eq!(left as u64, unplaceable, "only keys nothing can name stay");

    // Killed with SIGKILL and run again with the same command: every key moved once.
    flush();
    after.execute(&["FLUSHALL"]).unwrap();
    let n = 20_000;
    let mut pipe = Vec::new();
    for i in 0..n {
        pipe.push(vec![
            "SET".to_owned(),
            format!("many:{i}:x{{many:{i}}}"),
            format!("v{i}"),
        ]);
    }
    for result in before.pipeline(&pipe).unwrap() {
        result.unwrap();
    }
    let dir = std::env::temp_dir().join(format!("rediscluster-into-rc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state");
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_rediscluster"))
            .arg("reshard")
            .arg("--from")
            .arg(config_of(old_servers).to_string())
            .arg("--to")
            .arg(cluster_json.to_string())
            .arg("--state")
            .arg(&state)
            .args(["--tag-rule", r"^(many:\d+):", "--batch", "20", "--quiet"])
            .args(["--rate", "10000"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    killed_then_finished(run, &[150, 250, 350], 2);
    for i in (0..n).step_by(7) {
        let key = format!("many:{i}:x{{many:{i}}}");
        assert_eq!(
            get(&after, &key),
            Value::BulkString(format!("v{i}").into_bytes()),
            "{key}"
        );
    }
    let Value::Int(on_masters) = after.execute(&["DBSIZE"]).unwrap() else {
        panic!("DBSIZE answers an integer")
    };
    assert_eq!(on_masters, n as i64, "every key once on the cluster");
    let left: i64 = old_servers
        .iter()
        .map(|s| redis::cmd("DBSIZE").query::<i64>(&mut s.connect()).unwrap())
        .sum();
    assert_eq!(left, 0, "none left behind");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The old copy of a moved key must go: a source that refuses DEL (here NOREPLICAS, as with
/// `min-replicas-to-write` and no replica) stops the reshard with the node and the reason,
/// before the batch is recorded, and its keys are all still there.
fn a_refused_delete_stops_the_reshard(servers: &[support::RedisServer]) {
    for server in servers {
        redis::cmd("FLUSHALL")
            .query::<()>(&mut server.connect())
            .unwrap();
    }
    let one = config(&servers[..1]);
    let before = Cluster::new(one.clone()).unwrap();
    for i in 0..200 {
        before.execute(&["SET", &format!("k{i}"), "v"]).unwrap();
    }
    let mut source = servers[0].connect();
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("min-replicas-to-write")
        .arg(1)
        .query::<()>(&mut source)
        .unwrap();
    let result = reshard(
        &one,
        &config(&servers[1..3]),
        &ReshardOptions::default(),
        &|_| {},
    );
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("min-replicas-to-write")
        .arg(0)
        .query::<()>(&mut source)
        .unwrap();
    let error = result.unwrap_err().to_string();
    assert!(
        error.contains("DEL of") && error.contains("NOREPLICAS"),
        "{error}"
    );
    let left: i64 = redis::cmd("DBSIZE").query(&mut source).unwrap();
    assert_eq!(left, 200, "nothing was deleted");
}

/// Adopting a RedisArray deployment and moving it onto elastic slots, online: keys written as
/// RedisArray writes them (the `redisarray` distribution, held to phpredis itself by
/// `tests/vectors/distributions.json`) on 3 masters move to 5 elastic masters with tags kept
/// (the same full names), while a client in the window (`previous` = the RedisArray masters)
/// reads every key and writes some: no read misses, nothing lost, nothing left behind.
fn from_a_redisarray_deployment_to_elastic_slots(servers: &[support::RedisServer]) {
    for server in servers {
        redis::cmd("FLUSHALL")
            .query::<()>(&mut server.connect())
            .unwrap();
    }
    let with = |n: usize, extra: serde_json::Value| {
        let mut config = config_of(&servers[..n]);
        for (option, value) in extra.as_object().unwrap() {
            config[option] = value.clone();
        }
        config["mastersonly"] = true.into();
        config
    };
    let array = with(3, serde_json::json!({"distribution": "redisarray"}));
    let elastic = with(
        5,
        serde_json::json!({"distribution": "elastic", "tags": "keep"}),
    );
    let old = Cluster::new(ClusterConfig::from_value(&array).unwrap()).unwrap();
    let keys: Vec<String> = (0..1500)
        .flat_map(|i| {
            [
                format!("page:{i}"),
                format!("{{user:{i}}}:cart"),
                format!("a{{}}{i}"),
            ]
        })
        .collect();
    for key in &keys {
        old.execute(&["SET", key, &format!("value of {key}")])
            .unwrap();
    }
    // The names differ once tags are stripped: refused before anything moves.
    let stripping = with(5, serde_json::json!({"distribution": "elastic"}));
    let refused = reshard(
        &ClusterConfig::from_value(&array).unwrap(),
        &ClusterConfig::from_value(&stripping).unwrap(),
        &ReshardOptions::default(),
        &|_| {},
    );
    assert!(
        refused
            .unwrap_err()
            .to_string()
            .contains("store keys under different names")
    );
    let mut window = elastic.clone();
    window["previous"] = array.clone();
    window["previous"]
        .as_object_mut()
        .unwrap()
        .remove("mastersonly");
    let during = Cluster::new(ClusterConfig::from_value(&window).unwrap()).unwrap();
    let direct = Cluster::new(ClusterConfig::from_value(&elastic).unwrap()).unwrap();
    let (summary, updated) = read_through_a_reshard(&during, &direct, &keys, 10, false, || {
        reshard(
            &ClusterConfig::from_value(&array).unwrap(),
            &ClusterConfig::from_value(&elastic).unwrap(),
            &ReshardOptions {
                batch: 16,
                ..ReshardOptions::default()
            },
            &|_| {},
        )
    });
    assert_eq!(
        summary.unplaceable, 0,
        "full names place themselves: {summary:?}"
    );
    assert!(summary.moved > 0, "{summary:?}");
    let after = Cluster::new(ClusterConfig::from_value(&elastic).unwrap()).unwrap();
    for key in &keys {
        assert_eq!(get(&after, key), expected(&updated, key), "{key}");
    }
    let total: i64 = servers
        .iter()
        .map(|s| redis::cmd("DBSIZE").query::<i64>(&mut s.connect()).unwrap())
        .sum();
    assert_eq!(total, keys.len() as i64, "each key once");
}

/// With `tags: "keep"` and a routing rule in both configs, every key the client wrote is
/// placeable from its stored name (the name is the key): a reshard 3 -> 5 with no
/// `--tag-rule` moves each where the grown client looks for it, and leaves nothing behind.
/// Configs that place keys differently are refused before anything moves.
fn placed_by_the_configs_placement(servers: &[support::RedisServer]) {
    for server in servers {
        redis::cmd("FLUSHALL")
            .query::<()>(&mut server.connect())
            .unwrap();
    }
    let placed = |n: usize| {
        let mut config = config_of(&servers[..n]);
        config["tags"] = "keep".into();
        config["routing_rules"] = serde_json::json!(["^lock(?:-signal)?:(.+)$"]);
        ClusterConfig::from_value(&config)
            .unwrap()
            .masters_only(true)
    };
    let (three, five) = (placed(3), placed(5));
    let before = Cluster::new(three.clone()).unwrap();
    let keys: Vec<String> = (0..200)
        .flat_map(|i| {
            [
                format!("lock:job{i}"),
                format!("lock-signal:job{i}"),
                format!("LIMITS:{{user{i}}}"),
                format!("{{user{i}}}:followers"),
            ]
        })
        .collect();
    for key in &keys {
        before.execute(&["SET", key, key]).unwrap();
    }
    let refused = reshard(
        &three,
        &config(servers),
        &ReshardOptions::default(),
        &|_| {},
    );
    assert!(
        refused
            .unwrap_err()
            .to_string()
            .contains("store keys under different names"),
        "a change of placement is not a reshard"
    );
    let summary = reshard(&three, &five, &ReshardOptions::default(), &|_| {}).unwrap();
    assert_eq!(summary.unplaceable, 0, "{summary:?}");
    assert!(
        summary.moved > 0 && summary.moved < keys.len() as u64,
        "{summary:?}"
    );
    let after = Cluster::new(five).unwrap();
    for key in &keys {
        assert_eq!(
            get(&after, key),
            Value::BulkString(key.clone().into_bytes()),
            "{key}"
        );
    }
    let total: i64 = servers
        .iter()
        .map(|s| redis::cmd("DBSIZE").query::<i64>(&mut s.connect()).unwrap())
        .sum();
    assert_eq!(total, keys.len() as i64, "each key once");
    for i in 0..200 {
        assert_eq!(
            after.node_for(format!("lock:job{i}")),
            after.node_for(format!("lock-signal:job{i}"))
        );
    }
}

/// `check` shows the default mode's hazard from the servers: `LIMITS:{a}` and `LIMITS:{b}` on
/// different masters are both stored as `LIMITS:`, a name on two masters; with tags kept the
/// same keys are four names, each on its own tag's master.
fn check_reports_names_that_several_tags_share(servers: &[support::RedisServer]) {
    for server in servers {
        redis::cmd("FLUSHALL")
            .query::<()>(&mut server.connect())
            .unwrap();
    }
    let stripping = config(&servers[..3]);
    let client = Cluster::new(stripping.clone()).unwrap();
    let tags: Vec<String> = (0..)
        .map(|i| format!("user{i}"))
        .scan(Vec::new(), |seen: &mut Vec<String>, tag| {
            let node = client.node_for(&tag).to_owned();
            let new = !seen.contains(&node);
            seen.push(node);
            Some(new.then_some(tag))
        })
        .flatten()
        .take(2)
        .collect();
    let limits: Vec<String> = tags.iter().map(|t| format!("LIMITS:{{{t}}}")).collect();
    for key in &limits {
        client.execute(&["SET", key, key]).unwrap();
    }
    let reports = check(&stripping, true);
    let shared: u64 = reports.iter().map(|r| r.shared_names.unwrap()).sum();
    assert!(shared >= 1, "{reports:?}");
    assert!(
        reports.iter().any(|r| r.shared_examples == ["LIMITS:"]),
        "{reports:?}"
    );
    let foreign: u64 = reports.iter().map(|r| r.foreign_keys.unwrap()).sum();
    assert!(foreign >= 1, "placed by a tag: {reports:?}");

    for server in servers {
        redis::cmd("FLUSHALL")
            .query::<()>(&mut server.connect())
            .unwrap();
    }
    let mut keeping = config_of(&servers[..3]);
    keeping["tags"] = "keep".into();
    let keeping = ClusterConfig::from_value(&keeping).unwrap();
    let client = Cluster::new(keeping.clone()).unwrap();
    for key in &limits {
        client.execute(&["SET", key, key]).unwrap();
    }
    let reports = check(&keeping, true);
    for report in &reports {
        assert_eq!(
            (report.foreign_keys, report.shared_names),
            (Some(0), Some(0)),
            "{report:?}"
        );
    }
    let keys: i64 = reports.iter().map(|r| r.keys.unwrap() as i64).sum();
    assert_eq!(keys, 2, "two keys, under their own names");
}
