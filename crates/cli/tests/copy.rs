//! `rediscluster copy` against real servers: every type, with and without TTLs, tagged names,
//! placed by the contract and verified; and a copy killed with SIGKILL five times that, run
//! again with the same command, finishes with nothing lost.

#[path = "../../cluster-core/tests/support/mod.rs"]
mod support;

use std::time::Duration;

use cluster_core::ClusterConfig;
use cluster_core::placement::{master_index, split_tag};
use rediscluster_tools::copy::{CopyOptions, copy, verify};
use support::{RedisServer, Rng, config_of, port, slot, start_masters};

/// Fills `source` with `n` keys of every type; one in five expires in an hour; one in ten has
/// a hash tag in its name. Returns the key names.
fn fill(source: &RedisServer, n: usize) -> Vec<String> {
    let mut connection = source.connect();
    let mut pipe = redis::pipe();
    let mut names = Vec::with_capacity(n);
    for i in 0..n {
        let name = match i % 10 {
            0 => format!("item:{i}{{user{}}}", i % 7),
            _ => format!("item:{i}"),
        };
        match i % 7 {
            0 => pipe.cmd("SET").arg(&name).arg(format!("value {i}")),
            1 => pipe.cmd("RPUSH").arg(&name).arg(&["a", "b", "c"]),
            2 => pipe.cmd("SADD").arg(&name).arg(&["x", "y"]),
            3 => pipe
                .cmd("ZADD")
                .arg(&name)
                .arg(1.5)
                .arg("m")
                .arg(2)
                .arg("n"),
            4 => pipe
                .cmd("HSET")
                .arg(&name)
                .arg("f")
                .arg(i)
                .arg("g")
                .arg("h"),
            5 => pipe.cmd("XADD").arg(&name).arg("*").arg("field").arg(i),
            _ => pipe.cmd("PFADD").arg(&name).arg(&["p", "q", "r"]),
        };
        if i % 5 == 0 {
            pipe.cmd("PEXPIRE").arg(&name).arg(3_600_000);
        }
        names.push(name);
    }
    pipe.query::<()>(&mut connection).unwrap();
    names
}

fn destination(offset: u16) -> (Vec<RedisServer>, ClusterConfig) {
    let servers = start_masters(offset, 3);
    let config = ClusterConfig::from_value(&config_of(&servers)).unwrap();
    (servers, config)
}

#[test]
fn copy_places_every_type_with_its_expiry_and_verifies() {
    let source = RedisServer::start(port(slot::MIGRATE));
    let (servers, to) = destination(slot::MIGRATE + 1);
    let names = fill(&source, 2100);
    let from = ClusterConfig::from_urls(&[source.url()]).unwrap();
    let summary = copy(
        &from,
        &to,
        &CopyOptions {
            batch: 100,
            ..CopyOptions::default()
        },
        &|_| {},
    )
    .unwrap();
    assert_eq!(summary.copied, 2100);
    assert_eq!(summary.expired, 0);
    let report = verify(&from, &to, None, 0).unwrap();
    assert_eq!(report.checked, 2100);
    assert_eq!(
        (report.missing, report.different, report.ttl_different),
        (0, 0, 0),
        "{report:?}"
    );
    // Each key is on the master the contract names, under its stored name, and nowhere else.
    let mut connections: Vec<redis::Connection> =
        servers.iter().map(RedisServer::connect).collect();
    for name in names.iter().step_by(13) {
        let tagged = split_tag(name.as_bytes());
        let node = master_index(tagged.route, 3);
        for (i, connection) in connections.iter_mut().enumerate() {
            let exists: i64 = redis::cmd("EXISTS")
                .arg(tagged.stored)
                .query(connection)
                .unwrap();
            let expected = i64::from(i == node);
            // Stored names of tagged keys are unique here, so "nowhere else" holds for them too.
            assert_eq!(exists, expected, "{name} on node_{}", i + 1);
        }
    }
    let total: i64 = connections
        .iter_mut()
        .map(|c| redis::cmd("DBSIZE").query::<i64>(c).unwrap())
        .sum();
    assert_eq!(total, 2100);
    // verify sees a changed value and a changed expiry on the destination.
    let changed = "item:14";
    let tagged = split_tag(changed.as_bytes());
    let node = master_index(tagged.route, 3);
    redis::cmd("SET")
        .arg(tagged.stored)
        .arg("not the source's")
        .query::<()>(&mut connections[node])
        .unwrap();
    let ttl_changed = "item:15";
    let node = master_index(split_tag(ttl_changed.as_bytes()).route, 3);
    redis::cmd("PEXPIRE")
        .arg(ttl_changed)
        .arg(99_999_999)
        .query::<()>(&mut connections[node])
        .unwrap();
    let report = verify(&from, &to, None, 1000).unwrap();
    assert_eq!(
        (report.missing, report.different, report.ttl_different),
        (0, 1, 1),
        "{report:?}"
    );
    // A pattern copies only what matches; copying again replaces, never duplicates.
    let again = copy(
        &from,
        &to,
        &CopyOptions {
            pattern: Some("item:1*".into()),
            ..CopyOptions::default()
        },
        &|_| {},
    )
    .unwrap();
    assert!(again.copied > 0 && again.copied < 2100);
    assert_eq!(verify(&from, &to, None, 0).unwrap().different, 0);
}

#[test]
fn a_copy_killed_five_times_finishes_when_run_again() {
    let source = RedisServer::start(port(slot::MIGRATE + 4));
    let (servers, to) = destination(slot::MIGRATE + 5);
    let n = 30_000;
    fill(&source, n);
    let dir = std::env::temp_dir().join(format!("rediscluster-copy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cluster_file = dir.join("to.json");
    std::fs::write(&cluster_file, config_of(&servers).to_string()).unwrap();
    let state = dir.join("copy.state");
    let _ = std::fs::remove_file(&state);
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_rediscluster"))
            .args(["copy", "--from", &source.url(), "--to"])
            .arg(&cluster_file)
            .arg("--state")
            .arg(&state)
            .args(["--batch", "50", "--quiet"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut rng = Rng(0x6b11_1ed5);
    let mut interrupted = 0;
    for _ in 0..5 {
        let mut child = run();
        std::thread::sleep(Duration::from_millis(30 + rng.below(200) as u64));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            interrupted += 1;
        }
        child.wait().unwrap();
    }
    assert!(
        interrupted >= 3,
        "the copy must really be interrupted ({interrupted} of 5)"
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert!(saved["copied"].as_u64().unwrap() < n as u64 * 2, "{saved}");
    let status = run().wait().unwrap();
    assert!(status.success());
    let from = ClusterConfig::from_urls(&[source.url()]).unwrap();
    let report = verify(&from, &to, None, 0).unwrap();
    assert_eq!(report.checked, n as u64);
    assert_eq!(
        (report.missing, report.different, report.ttl_different),
        (0, 0, 0),
        "{report:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let bin = env!("CARGO_BIN_EXE_rediscluster");
    let out = std::process::Command::new(bin)
        .args([
            "copy",
            "--from",
            "redis://127.0.0.1:1/0",
            "--to",
            "/no/such/file.json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the cluster config"));
    let out = std::process::Command::new(bin)
        .args([
            "nodefor",
            "--cluster",
            "redis://127.0.0.1:7000,redis://127.0.0.1:7001",
            "foo",
            "bar{foo}",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("foo\tnode_2") && text.contains("bar{foo}\tnode_2\t127.0.0.1:7001\tbar"),
        "{text}"
    );
    // An unreachable source: an error naming it, before anything is written.
    let servers = vec![RedisServer::start(port(slot::MIGRATE + 8))];
    let to = ClusterConfig::from_value(&config_of(&servers)).unwrap();
    let nothing_there = port(slot::MIGRATE + 9);
    let unreachable =
        ClusterConfig::from_urls(&[format!("redis://127.0.0.1:{nothing_there}")]).unwrap();
    let err = copy(&unreachable, &to, &CopyOptions::default(), &|_| {}).unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("127.0.0.1:{nothing_there}")),
        "{err}"
    );
    let written: i64 = servers
        .iter()
        .map(|s| redis::cmd("DBSIZE").query::<i64>(&mut s.connect()).unwrap())
        .sum();
    assert_eq!(written, 0);
}
