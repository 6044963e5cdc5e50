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
    let report = verify(&from, &to, &CopyOptions::default(), 0).unwrap();
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
    let report = verify(&from, &to, &CopyOptions::default(), 1000).unwrap();
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
    assert_eq!(
        verify(&from, &to, &CopyOptions::default(), 0)
            .unwrap()
            .different,
        0
    );

    // Into a cluster that keeps tags and has a routing rule: each key where that client looks
    // for it, under its full name (rule first, then Redis Cluster's tag).
    for connection in connections.iter_mut() {
        redis::cmd("FLUSHALL").query::<()>(connection).unwrap();
    }
    let mut keeping = config_of(&servers);
    keeping["tags"] = "keep".into();
    keeping["routing_rules"] = serde_json::json!(["^lock(?:-signal)?:(.+)$"]);
    let keeping = ClusterConfig::from_value(&keeping).unwrap();
    let mut named = source.connect();
    let extra = [
        "lock:a{x}",
        "lock-signal:a{x}",
        "LIMITS:{u1}",
        "LIMITS:{u2}",
        "{u1}:followers",
    ];
    for name in extra {
        redis::cmd("SET")
            .arg(name)
            .arg(name)
            .query::<()>(&mut named)
            .unwrap();
    }
    let summary = copy(&from, &keeping, &CopyOptions::default(), &|_| {}).unwrap();
    assert_eq!(summary.copied, 2100 + extra.len() as u64);
    let report = verify(&from, &keeping, &CopyOptions::default(), 0).unwrap();
    assert_eq!((report.missing, report.different), (0, 0), "{report:?}");
    let client = cluster_core::Cluster::new(keeping.clone()).unwrap();
    for name in names.iter().step_by(13).map(String::as_str).chain(extra) {
        let node = keeping.placement.master_index(name.as_bytes(), 3);
        assert_eq!(client.node_for(name), format!("node_{}", node + 1));
        for (i, connection) in connections.iter_mut().enumerate() {
            let exists: i64 = redis::cmd("EXISTS").arg(name).query(connection).unwrap();
            assert_eq!(exists, i64::from(i == node), "{name} on node_{}", i + 1);
        }
    }
    // The rule routes `lock:a{x}` by `a{x}` as a whole, not by the tag `x`.
    let by_rule = format!("node_{}", master_index(b"a{x}", 3) + 1);
    assert_eq!(client.node_for("lock:a{x}"), by_rule);
    assert_eq!(client.node_for("LIMITS:{u1}"), client.node_for("u1"));
}

#[test]
fn a_copy_killed_five_times_finishes_when_run_again() {
    let source = RedisServer::start(port(slot::MIGRATE + 4));
    let (servers, to) = destination(slot::MIGRATE + 5);
    // Enough keys, paced (--rate), that a kill lands mid-copy.
    let n = 100_000;
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
            .args(["--batch", "50", "--rate", "100000", "--quiet"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut rng = Rng(0x6b11_1ed5);
    let mut interrupted = 0;
    for _ in 0..5 {
        let mut child = run();
        std::thread::sleep(Duration::from_millis(20 + rng.below(150) as u64));
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
    let report = verify(&from, &to, &CopyOptions::default(), 0).unwrap();
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
    // nodefor with a config's placement: the rule that placed a key, and full stored names.
    let dir = std::env::temp_dir().join(format!("rediscluster-nodefor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("cluster.json");
    let nodes = serde_json::json!({
        "node_1": {"host": "127.0.0.1", "port": 7000},
        "node_2": {"host": "127.0.0.1", "port": 7001},
        "node_3": {"host": "127.0.0.1", "port": 7002},
    });
    let config = serde_json::json!({
        "nodes": nodes,
        "tags": "keep",
        "routing_rules": ["^lock(?:-signal)?:(.+)$"],
    });
    std::fs::write(&file, config.to_string()).unwrap();
    let out = std::process::Command::new(bin)
        .arg("--json")
        .args(["nodefor", "--cluster"])
        .arg(&file)
        .args(["lock:job", "lock-signal:job", "job", "LIMITS:{u1}", "u1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let placement = ClusterConfig::from_value(&config).unwrap().placement;
    for row in &rows {
        let key = row["key"].as_str().unwrap();
        let node = placement.master_index(key.as_bytes(), 3) + 1;
        assert_eq!(row["node"], format!("node_{node}"), "{row}");
        assert_eq!(row["stored"], key, "nothing renamed: {row}");
    }
    assert_eq!(rows[0]["node"], rows[2]["node"], "lock:job routed by job");
    assert_eq!(
        rows[1]["node"], rows[2]["node"],
        "lock-signal:job routed by job"
    );
    assert_eq!(
        (rows[0]["rule"].as_u64(), rows[0]["route"].as_str()),
        (Some(1), Some("job"))
    );
    assert_eq!(
        (rows[3]["node"].clone(), rows[3]["rule"].clone()),
        (rows[4]["node"].clone(), serde_json::Value::Null)
    );
    let bad = serde_json::json!({"nodes": nodes, "routing_rules": ["^lock:.+$"]});
    std::fs::write(&file, bad.to_string()).unwrap();
    let out = std::process::Command::new(bin)
        .args(["nodefor", "--cluster"])
        .arg(&file)
        .arg("lock:job")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let error = String::from_utf8_lossy(&out.stderr);
    assert!(
        error.contains("routing rule 1") && error.contains("no capture group"),
        "{error}"
    );
    let _ = std::fs::remove_dir_all(&dir);
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
