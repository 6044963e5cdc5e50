//! Emulated commands against one plain Redis: long random sequences of set commands over keys
//! spread across three masters (plain and tagged), run on the cluster and on a single server;
//! every reply and the final data must be the same.

mod support;

use cluster_core::{Cluster, ClusterError, Value};
use support::{RedisServer, Rng, cluster_of, port, slot, start_masters};

/// Keys whose stored names are all distinct (so a single server sees the same keyspace),
/// spread over every master; some tagged so that a few commands land on one node.
fn key_universe(cluster: &Cluster) -> Vec<String> {
    let mut keys: Vec<String> = (0..8).map(|i| format!("set{i}")).collect();
    keys.extend((0..4).map(|i| format!("tagged{i}{{grp}}")));
    keys.push("string0".to_owned()); // holds a string: WRONGTYPE cases
    assert_spread(cluster, &keys);
    keys
}

/// A reply in a form that compares across servers: set replies sorted (their order is the
/// server's business), errors as their text.
fn normalized(command: &str, reply: Result<Value, String>) -> Result<Value, String> {
    let unordered = ["SUNION", "SINTER", "SDIFF", "SMEMBERS"];
    match reply {
        Ok(Value::Array(mut items)) if unordered.contains(&command) => {
            items.sort_by_key(|v| format!("{v:?}"));
            Ok(Value::Array(items))
        }
        other => other,
    }
}

fn random_command(rng: &mut Rng, keys: &[String]) -> Vec<String> {
    let members: Vec<String> = (0..6).map(|i| format!("m{i}")).collect();
    let pick_keys = |rng: &mut Rng, n: usize| -> Vec<String> {
        (0..n).map(|_| rng.pick(keys).to_owned()).collect()
    };
    let mut command: Vec<String> = match rng.below(14) {
        0..=2 => {
            let mut c = vec!["SADD".to_owned(), rng.pick(keys).to_owned()];
            c.extend((0..1 + rng.below(4)).map(|_| rng.pick(&members).to_owned()));
            c
        }
        3 => vec![
            "SREM".to_owned(),
            rng.pick(keys).to_owned(),
            rng.pick(&members).to_owned(),
        ],
        4 => vec!["SUNION".to_owned()],
        5 => vec!["SINTER".to_owned()],
        6 => vec!["SDIFF".to_owned()],
        7 => vec!["SUNIONSTORE".to_owned(), rng.pick(keys).to_owned()],
        8 => vec!["SINTERSTORE".to_owned(), rng.pick(keys).to_owned()],
        9 => vec!["SDIFFSTORE".to_owned(), rng.pick(keys).to_owned()],
        10 => {
            let n = 1 + rng.below(4);
            let mut c = vec!["SINTERCARD".to_owned(), n.to_string()];
            c.extend(pick_keys(rng, n));
            match rng.below(4) {
                0 => c.extend(["LIMIT".to_owned(), rng.below(3).to_string()]),
                1 => c.extend(["LIMIT".to_owned(), "-1".to_owned()]),
                _ => {}
            }
            return c;
        }
        11 => vec![
            "SMOVE".to_owned(),
            rng.pick(keys).to_owned(),
            rng.pick(keys).to_owned(),
            rng.pick(&members).to_owned(),
        ],
        12 => vec!["DEL".to_owned(), rng.pick(keys).to_owned()],
        _ => vec!["SET".to_owned(), "string0".to_owned(), "text".to_owned()],
    };
    if ["SUNION", "SINTER", "SDIFF"].contains(&command[0].as_str()) || command[0].ends_with("STORE")
    {
        let n = 1 + rng.below(4);
        command.extend(pick_keys(rng, n));
    }
    command
}

/// Three masters on `offset..offset + 3` and, on `offset + 3`, one plain server: the oracle.
fn cluster_and_oracle(offset: u16) -> (Vec<RedisServer>, RedisServer, Cluster) {
    let servers = start_masters(offset, 3);
    let oracle = RedisServer::start(port(offset + 3));
    let cluster = cluster_of(&servers);
    (servers, oracle, cluster)
}

/// Asserts the keys spread over all three masters.
fn assert_spread(cluster: &Cluster, keys: &[String]) {
    let nodes: std::collections::BTreeSet<&str> =
        keys.iter().map(|k| cluster.node_for(k)).collect();
    assert_eq!(nodes.len(), 3, "the keys spread over all masters");
}

/// Runs `steps` random commands from `generate` on the cluster and on one plain server and
/// asserts the same reply each time; answers how many of them crossed nodes.
fn differential(
    cluster: &Cluster,
    single: &mut redis::Connection,
    keys: &[String],
    (seed, steps): (u64, usize),
    generate: fn(&mut Rng, &[String]) -> Vec<String>,
) -> usize {
    let mut rng = Rng(seed);
    let mut cross_node = 0;
    for step in 0..steps {
        let command = generate(&mut rng, keys);
        let theirs: Result<Value, String> = redis::cmd(&command[0])
            .arg(&command[1..])
            .query::<Value>(single)
            .map_err(|e| format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or("")));
        let ours: Result<Value, String> = cluster.execute(&command).map_err(|e| match e {
            ClusterError::Server { .. } | ClusterError::Command(_) => e.to_string(),
            other => panic!("step {step}: {command:?}: {other}"),
        });
        let nodes: std::collections::BTreeSet<&str> = command
            .iter()
            .skip(1)
            .filter(|a| keys.contains(a))
            .map(|k| cluster.node_for(k))
            .collect();
        cross_node += usize::from(nodes.len() > 1);
        assert_eq!(
            normalized(&command[0], ours),
            normalized(&command[0], theirs),
            "step {step}: {command:?}"
        );
    }
    cross_node
}

/// Every key holds the same on the cluster as on the plain server.
fn same_final_data(cluster: &Cluster, single: &mut redis::Connection, keys: &[String]) {
    for key in keys {
        let mut ours = |args: &[&str]| cluster.execute(args).unwrap();
        let mut theirs = |args: &[&str]| {
            redis::cmd(args[0])
                .arg(&args[1..])
                .query::<Value>(single)
                .unwrap()
        };
        assert_eq!(
            snapshot(&mut ours, key),
            snapshot(&mut theirs, key),
            "{key}"
        );
    }
}

#[test]
fn set_commands_across_nodes_answer_like_one_server() {
    let (_servers, oracle, cluster) = cluster_and_oracle(slot::EMULATED);
    let mut single = oracle.connect();
    let keys = key_universe(&cluster);
    let crossed = differential(
        &cluster,
        &mut single,
        &keys,
        (0x0dd_c0ffee, 4000),
        random_command,
    );
    assert!(crossed > 1000, "only {crossed} commands crossed nodes");
    same_final_data(&cluster, &mut single, &keys);
}

#[test]
fn smove_to_a_down_node_loses_nothing() {
    let mut servers = start_masters(slot::EMULATED + 4, 2);
    let cluster = cluster_of(&servers);
    let (source, destination) = (
        support::key_on(&cluster, "node_1"),
        support::key_on(&cluster, "node_2"),
    );
    let _ = cluster.execute(&["SADD", &source, "member"]).unwrap();
    servers[1].stop();
    let err = cluster
        .execute(&["SMOVE", &source, &destination, "member"])
        .unwrap_err();
    assert_eq!(err.node(), Some("node_2"), "{err}");
    let still: i64 =
        redis::from_redis_value(cluster.execute(&["SISMEMBER", &source, "member"]).unwrap())
            .unwrap();
    assert_eq!(still, 1, "the member stayed in the source");
}

/// What a key holds, read by type, in a form that compares across servers; plus whether it
/// expires.
fn snapshot(read: &mut dyn FnMut(&[&str]) -> Value, key: &str) -> (Value, Value, bool) {
    let kind = read(&["TYPE", key]);
    let text = match &kind {
        Value::SimpleString(s) => s.clone(),
        _ => String::new(),
    };
    let mut content = match text.as_str() {
        "string" => read(&["GET", key]),
        "list" => read(&["LRANGE", key, "0", "-1"]),
        "set" => read(&["SMEMBERS", key]),
        "hash" => read(&["HGETALL", key]),
        "zset" => read(&["ZRANGE", key, "0", "-1", "WITHSCORES"]),
        _ => Value::Nil,
    };
    if let Value::Array(items) = &mut content {
        if text == "set" {
            items.sort_by_key(|v| format!("{v:?}"));
        }
        if text == "hash" {
            let mut pairs: Vec<(Value, Value)> = items
                .chunks(2)
                .map(|p| (p[0].clone(), p[1].clone()))
                .collect();
            pairs.sort_by_key(|(k, _)| format!("{k:?}"));
            *items = pairs.into_iter().flat_map(|(k, v)| [k, v]).collect();
        }
    }
    let expires = matches!(read(&["PTTL", key]), Value::Int(ms) if ms > 0);
    (kind, content, expires)
}

fn key_and_list_command(rng: &mut Rng, keys: &[String]) -> Vec<String> {
    let k = |rng: &mut Rng| rng.pick(keys).to_owned();
    let v = |rng: &mut Rng| format!("v{}", rng.below(5));
    let side = |rng: &mut Rng| if rng.below(2) == 0 { "LEFT" } else { "RIGHT" }.to_owned();
    let words: Vec<String> = match rng.below(24) {
        20 => vec![
            "MSET".into(),
            k(rng),
            v(rng),
            k(rng),
            v(rng),
            k(rng),
            v(rng),
        ],
        21 => vec!["MGET".into(), k(rng), k(rng), k(rng), k(rng)],
        22 => vec!["EXISTS".into(), k(rng), k(rng), k(rng)],
        23 => vec!["DEL".into(), k(rng), k(rng), k(rng)],
        0 => vec!["SET".into(), k(rng), v(rng)],
        1 => vec!["RPUSH".into(), k(rng), v(rng), v(rng)],
        2 => vec!["LPUSH".into(), k(rng), v(rng)],
        3 => vec!["SADD".into(), k(rng), v(rng)],
        4 => vec!["HSET".into(), k(rng), v(rng), v(rng)],
        5 => vec!["ZADD".into(), k(rng), format!("{}.5", rng.below(9)), v(rng)],
        6 => vec!["PFADD".into(), k(rng), v(rng), v(rng), v(rng)],
        7 => vec!["PEXPIRE".into(), k(rng), "100000".into()],
        8 => vec!["DEL".into(), k(rng)],
        9 => vec!["RENAME".into(), k(rng), k(rng)],
        10 => vec!["RENAMENX".into(), k(rng), k(rng)],
        11 => {
            let mut c = vec!["COPY".into(), k(rng), k(rng)];
            if rng.below(2) == 0 {
                c.push("REPLACE".into());
            }
            c
        }
        12 => vec!["RPOPLPUSH".into(), k(rng), k(rng)],
        13 => vec!["LMOVE".into(), k(rng), k(rng), side(rng), side(rng)],
        14 => vec![
            "BLMOVE".into(),
            k(rng),
            k(rng),
            side(rng),
            side(rng),
            "0.01".into(),
        ],
        15 => vec!["BRPOPLPUSH".into(), k(rng), k(rng), "0.01".into()],
        16 => vec!["MSETNX".into(), k(rng), v(rng), k(rng), v(rng)],
        17 => vec!["PFCOUNT".into(), k(rng), k(rng), k(rng)],
        18 => vec!["PFMERGE".into(), k(rng), k(rng), k(rng)],
        _ => vec!["LMOVE".into(), k(rng), k(rng), "UP".into(), "LEFT".into()],
    };
    words
}

#[test]
fn key_list_and_hyperloglog_commands_across_nodes_answer_like_one_server() {
    let (_servers, oracle, cluster) = cluster_and_oracle(slot::EMULATED + 6);
    let mut single = oracle.connect();
    // Plain keys and tagged ones (distinct stored names: t0, t1, t2).
    let mut keys: Vec<String> = (0..9).map(|i| format!("key{i}")).collect();
    keys.extend(["t0{a}", "t1{b}", "t2{a}"].map(String::from));
    assert_spread(&cluster, &keys);
    let crossed = differential(
        &cluster,
        &mut single,
        &keys,
        (0xfeed_beef_1234, 3000),
        key_and_list_command,
    );
    assert!(crossed > 1000, "only {crossed} commands crossed nodes");
    same_final_data(&cluster, &mut single, &keys);
}

fn zset_command(rng: &mut Rng, keys: &[String]) -> Vec<String> {
    let k = |rng: &mut Rng| rng.pick(keys).to_owned();
    let m = |rng: &mut Rng| format!("m{}", rng.below(6));
    let n = 1 + rng.below(3);
    let pick =
        |rng: &mut Rng| -> Vec<String> { (0..n).map(|_| rng.pick(keys).to_owned()).collect() };
    let weights = ["1", "2", "0.5", "-1", "0"];
    let options = |rng: &mut Rng, diff: bool, store: bool| -> Vec<String> {
        let mut o = Vec::new();
        if !diff && rng.below(2) == 0 {
            o.push("WEIGHTS".to_owned());
            o.extend((0..n).map(|_| weights[rng.below(weights.len())].to_owned()));
        }
        if !diff && rng.below(3) == 0 {
            o.extend([
                "AGGREGATE".to_owned(),
                ["SUM", "MIN", "MAX", "AVG"][rng.below(4)].to_owned(),
            ]);
        }
        if !store && rng.below(2) == 0 {
            o.push("WITHSCORES".to_owned());
        }
        o
    };
    match rng.below(12) {
        0..=2 => vec![
            "ZADD".into(),
            k(rng),
            format!("{}.{}", rng.below(5) as i64 - 2, rng.below(10)),
            m(rng),
        ],
        3 => vec!["SADD".into(), k(rng), m(rng)],
        4 => vec!["SET".into(), k(rng), "text".into()],
        5 => vec!["DEL".into(), k(rng)],
        6 => vec!["ZREM".into(), k(rng), m(rng)],
        7 | 8 => {
            let op = ["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"][rng.below(3)];
            let mut c = vec![op.to_owned(), k(rng), n.to_string()];
            c.extend(pick(rng));
            c.extend(options(rng, op == "ZDIFFSTORE", true));
            c
        }
        9 | 10 => {
            let op = ["ZUNION", "ZINTER", "ZDIFF"][rng.below(3)];
            let mut c = vec![op.to_owned(), n.to_string()];
            c.extend(pick(rng));
            c.extend(options(rng, op == "ZDIFF", false));
            c
        }
        _ => {
            let mut c = vec!["ZINTERCARD".to_owned(), n.to_string()];
            c.extend(pick(rng));
            if rng.below(2) == 0 {
                c.extend(["LIMIT".to_owned(), rng.below(3).to_string()]);
            }
            c
        }
    }
}

#[test]
fn sorted_set_algebra_across_nodes_answers_like_one_server() {
    let (_servers, oracle, cluster) = cluster_and_oracle(slot::EMULATED + 10);
    let mut single = oracle.connect();
    let mut keys: Vec<String> = (0..7).map(|i| format!("zkey{i}")).collect();
    keys.extend(["z0{a}", "z1{b}", "z2{a}"].map(String::from));
    assert_spread(&cluster, &keys);
    let crossed = differential(
        &cluster,
        &mut single,
        &keys,
        (0x5eed_2e75, 3000),
        zset_command,
    );
    assert!(crossed > 500, "only {crossed} commands crossed nodes");
    same_final_data(&cluster, &mut single, &keys);
}

#[test]
fn lmove_to_a_down_node_puts_the_element_back() {
    let mut servers = start_masters(slot::EMULATED + 14, 2);
    let cluster = cluster_of(&servers);
    let (source, destination) = (
        support::key_on(&cluster, "node_1"),
        support::key_on(&cluster, "node_2"),
    );
    let _ = cluster.execute(&["RPUSH", &source, "a", "b", "c"]).unwrap();
    // The destination's type check passes while node_2 is up; then node_2 goes away between
    // the check and the push: simulate with a destination that refuses the push (wrong type is
    // caught before the pop, so use a node that is gone).
    servers[1].stop();
    let err = cluster
        .execute(&["LMOVE", &source, &destination, "LEFT", "RIGHT"])
        .unwrap_err();
    assert_eq!(err.node(), Some("node_2"), "{err}");
    let list: Vec<String> =
        redis::from_redis_value(cluster.execute(&["LRANGE", &source, "0", "-1"]).unwrap()).unwrap();
    assert_eq!(list, ["a", "b", "c"], "nothing was popped, nothing lost");
}
