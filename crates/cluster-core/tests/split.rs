//! Commands over independent keys on several masters (MGET, MSET, DEL, UNLINK, EXISTS, TOUCH):
//! every result equals what one plain Redis server answers for the same sequence of commands,
//! with tags stripped from every key and each key on its own master.

mod support;

use cluster_core::{Cluster, ClusterError, Value};
use support::{RedisServer, cluster_of, execute_visited, key_on, port, slot, start_masters};

fn args(words: &[&str]) -> Vec<Vec<u8>> {
    words.iter().map(|w| w.as_bytes().to_vec()).collect()
}

/// Runs each command on the cluster and on the oracle server; the replies must be equal.
fn same_as_one_server(cluster: &Cluster, oracle: &mut redis::Connection, script: &[Vec<Vec<u8>>]) {
    for command in script {
        let ours = cluster.execute(command);
        if command[0] == b"MGET" {
            // Element by element (what the PHP door reads MGET with): the same answer.
            let visited = execute_visited(cluster, command);
            assert_eq!(
                format!("{visited:?}"),
                format!("{ours:?}"),
                "{:?}",
                words(command)
            );
        }
        let theirs: redis::RedisResult<Value> =
            redis::cmd(std::str::from_utf8(&command[0]).unwrap())
                .arg(&command[1..])
                .query(oracle);
        match (ours, theirs) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{:?}", words(command)),
            (Err(a), Err(b)) => {
                // The server's line, `CODE detail`, as our error shows it.
                let line = format!("{} {}", b.code().unwrap_or("?"), b.detail().unwrap_or(""));
                assert_eq!(a.to_string(), line, "{:?}", words(command))
            }
            (a, b) => panic!("{:?}: cluster {a:?}, one server {b:?}", words(command)),
        }
    }
}

fn words(command: &[Vec<u8>]) -> Vec<String> {
    command
        .iter()
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect()
}

#[test]
fn split_commands_answer_like_one_server() {
    let servers = start_masters(slot::SPLIT, 3);
    let oracle = RedisServer::start(port(slot::SPLIT + 3));
    let cluster = cluster_of(&servers);
    let keys: Vec<String> = (0..12).map(|i| format!("key:{i}")).collect();
    let nodes: std::collections::BTreeSet<&str> =
        keys.iter().map(|k| cluster.node_for(k)).collect();
    assert_eq!(nodes.len(), 3, "the keys spread over all three masters");
    let k: Vec<&str> = keys.iter().map(String::as_str).collect();
    let script = vec![
        args(&[
            "MSET", k[0], "a", k[1], "b", k[2], "c", k[3], "d", k[4], "e",
        ]),
        args(&["MGET", k[4], k[0], "missing", k[2], k[1], k[0], k[3]]),
        args(&["MSET", k[1], "B", k[5], "f", k[1], "BB"]), // the last value of a key wins
        args(&["MGET", k[1], k[5]]),
        args(&["EXISTS", k[0], k[0], k[1], "missing", k[5]]),
        args(&["TOUCH", k[0], k[1], "missing", k[2]]),
        args(&["DEL", k[0], k[1], "missing", k[1]]),
        args(&["MGET", k[0], k[1], k[2]]),
        args(&["UNLINK", k[2], k[3], k[6], k[7]]),
        args(&["EXISTS", k[2], k[3], k[4], k[5]]),
        args(&["MSET", k[0], "x", k[1]]), // odd: the arity error, nothing written
        args(&["EXISTS", k[0], k[1]]),
        args(&["MGET", k[8], k[9], k[10], k[11]]),
    ];
    same_as_one_server(&cluster, &mut oracle.connect(), &script);
}

#[test]
fn split_commands_strip_tags_from_every_key() {
    let servers = start_masters(slot::SPLIT + 4, 3);
    let cluster = cluster_of(&servers);
    let tags: Vec<String> = (0..30).map(|i| format!("tag{i}")).collect();
    let mut command = vec!["MSET".to_owned()];
    for tag in &tags {
        command.push(format!("v{{{tag}}}"));
        command.push(format!("value-of-{tag}"));
    }
    assert!(cluster.execute(&command).is_ok());
    // Each master holds `v` exactly when one of the tags maps to it, with that tag's value.
    for tag in &tags {
        let node = cluster.node_for(tag);
        let value: Option<String> =
            redis::from_redis_value(cluster.execute_on(node, &["GET", "v"]).unwrap()).unwrap();
        assert!(
            value.is_some_and(|v| v.starts_with("value-of-tag")),
            "{tag} on {node}"
        );
    }
    let mut mget = vec!["MGET".to_owned()];
    mget.extend(tags.iter().map(|t| format!("v{{{t}}}")));
    let values: Vec<Option<String>> =
        redis::from_redis_value(cluster.execute(&mget).unwrap()).unwrap();
    for (tag, value) in tags.iter().zip(values) {
        // Several tags share a master and so the stored key `v`: the last write there wins.
        let last_on_node = tags
            .iter()
            .rev()
            .find(|t| cluster.node_for(t) == cluster.node_for(tag))
            .unwrap();
        assert_eq!(
            value.as_deref(),
            Some(format!("value-of-{last_on_node}").as_str())
        );
    }
}

#[test]
fn a_down_node_fails_a_split_command_naming_it() {
    let mut servers = start_masters(slot::SPLIT + 7, 2);
    let cluster = cluster_of(&servers);
    let on = |node: &str| key_on(&cluster, node);
    let (a, b) = (on("node_1"), on("node_2"));
    assert!(
        cluster
            .execute(&["MSET", a.as_str(), "1", b.as_str(), "2"])
            .is_ok()
    );
    servers[1].stop();
    let err = cluster
        .execute(&["MGET", a.as_str(), b.as_str()])
        .unwrap_err();
    assert!(matches!(err, ClusterError::Connection { .. }), "{err:?}");
    assert_eq!(err.node(), Some("node_2"));
    let err = execute_visited(&cluster, &["MGET", a.as_str(), b.as_str()]).unwrap_err();
    assert!(matches!(err, ClusterError::Connection { .. }), "{err:?}");
    assert_eq!(err.node(), Some("node_2"));
    // node_1 is untouched by node_2's failure.
    let value: String =
        redis::from_redis_value(cluster.execute(&["GET", a.as_str()]).unwrap()).unwrap();
    assert_eq!(value, "1");
}

#[test]
fn a_split_write_that_fails_on_one_node_says_what_was_applied() {
    let mut servers = start_masters(slot::SPLIT + 10, 3);
    let cluster = cluster_of(&servers);
    let on = |node: &str| key_on(&cluster, node);
    let (a, b, c) = (on("node_1"), on("node_2"), on("node_3"));
    // node_2 refuses writes (a full server), node_3 is down.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("1")
        .query(&mut servers[1].connect())
        .unwrap();
    let down = servers[2].addr();
    servers[2].stop();
    let err = cluster
        .execute(&["MSET", a.as_str(), "1", b.as_str(), "2", c.as_str(), "3"])
        .unwrap_err();
    let ClusterError::Partial {
        applied, failed, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(applied, &["node_1"]);
    assert_eq!(
        failed.iter().map(|e| e.node().unwrap()).collect::<Vec<_>>(),
        ["node_2", "node_3"]
    );
    let text = err.to_string();
    assert!(
        text.contains("OOM") && text.contains(&down) && text.contains("applied"),
        "{text}"
    );
    let value: String =
        redis::from_redis_value(cluster.execute(&["GET", a.as_str()]).unwrap()).unwrap();
    assert_eq!(value, "1", "node_1's part really was applied");
}
