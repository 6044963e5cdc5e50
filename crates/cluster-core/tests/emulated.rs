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

/// Pops from the first non-empty key, commands that write one destination from keys on other
/// masters, SORT with BY/GET patterns and STORE, COPY into another db.
fn composed_command(rng: &mut Rng, keys: &[String]) -> Vec<String> {
    let of = |rng: &mut Rng, prefix: &str| -> String {
        let matching: Vec<&String> = keys.iter().filter(|k| k.starts_with(prefix)).collect();
        matching[rng.below(matching.len())].clone()
    };
    // Elements are numbers but one ("x"), so numeric SORT sometimes fails as on one server.
    let elements = ["3", "1", "4", "15", "9", "2", "26", "x"];
    let e = |rng: &mut Rng| elements[rng.below(elements.len())].to_owned();
    let words = |list: &[&str]| list.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>();
    match rng.below(27) {
        0..=2 => vec!["RPUSH".into(), of(rng, "l"), e(rng), e(rng)],
        3 => vec![
            "ZADD".into(),
            of(rng, "z"),
            rng.below(20).to_string(),
            e(rng),
        ],
        // Pattern keys: distinct weights, so no two elements tie under ALPHA.
        4 => {
            let element = e(rng);
            let weight = format!("{}", 100 - element.len() * 7 - rng.below(3) * 31);
            vec!["SET".into(), format!("w_{element}"), weight]
        }
        5 => {
            let element = e(rng);
            vec![
                "SET".into(),
                format!("o_{element}"),
                format!("obj{}", rng.below(9)),
            ]
        }
        6 => {
            let element = e(rng);
            vec![
                "HSET".into(),
                format!("h_{element}"),
                "f".into(),
                rng.below(50).to_string(),
            ]
        }
        7..=10 => {
            let read_only = rng.below(4) == 0;
            let mut c = vec![
                if read_only { "SORT_RO" } else { "SORT" }.to_owned(),
                if rng.below(4) == 0 {
                    of(rng, "z")
                } else {
                    of(rng, "l")
                },
            ];
            let by = rng.below(4);
            match by {
                0 => c.extend(words(&["BY", "w_*"])),
                1 => c.extend(words(&["BY", "nosort"])),
                2 => c.extend(words(&["BY", "h_*->f"])),
                _ => {}
            }
            if rng.below(3) == 0 {
                c.extend([
                    "LIMIT".into(),
                    rng.below(3).to_string(),
                    (rng.below(4) as i64 - 1).to_string(),
                ]);
            }
            for _ in 0..rng.below(3) {
                let pattern = ["#", "o_*", "h_*->f", "w_*"][rng.below(4)];
                c.extend(["GET".into(), pattern.into()]);
            }
            if rng.below(2) == 0 {
                c.push("DESC".into());
            }
            if by == 3 && rng.below(2) == 0 {
                c.push("ALPHA".into());
            }
            if !read_only && rng.below(2) == 0 {
                c.extend(["STORE".into(), of(rng, "d")]);
            }
            c
        }
        11 => {
            let pop = ["BLPOP", "BRPOP"][rng.below(2)];
            vec![pop.into(), of(rng, "l"), of(rng, "l"), "0.01".into()]
        }
        12 => {
            let pop = ["BZPOPMIN", "BZPOPMAX"][rng.below(2)];
            vec![pop.into(), of(rng, "z"), of(rng, "z"), "0.01".into()]
        }
        13 => {
            let mut c = vec!["LMPOP".into(), "2".into(), of(rng, "l"), of(rng, "l")];
            c.push(["LEFT", "RIGHT"][rng.below(2)].into());
            if rng.below(2) == 0 {
                c.extend(["COUNT".into(), (1 + rng.below(3)).to_string()]);
            }
            c
        }
        14 => {
            let mut c = vec!["ZMPOP".into(), "2".into(), of(rng, "z"), of(rng, "z")];
            c.push(["MIN", "MAX"][rng.below(2)].into());
            if rng.below(2) == 0 {
                c.extend(["COUNT".into(), (1 + rng.below(3)).to_string()]);
            }
            c
        }
        15 => vec![
            "BLMPOP".into(),
            "0.01".into(),
            "2".into(),
            of(rng, "l"),
            of(rng, "l"),
            "RIGHT".into(),
        ],
        16 => vec![
            "BZMPOP".into(),
            "0.01".into(),
            "2".into(),
            of(rng, "z"),
            of(rng, "z"),
            "MAX".into(),
        ],
        17 => vec![
            "SETBIT".into(),
            of(rng, "s"),
            rng.below(40).to_string(),
            "1".into(),
        ],
        18 => {
            let op = ["AND", "OR", "XOR"][rng.below(3)];
            vec![
                "BITOP".into(),
                op.into(),
                of(rng, "d"),
                of(rng, "s"),
                of(rng, "s"),
                of(rng, "s"),
            ]
        }
        19 => vec!["BITOP".into(), "NOT".into(), of(rng, "d"), of(rng, "s")],
        20 => vec![
            "ZRANGESTORE".into(),
            of(rng, "d"),
            of(rng, "z"),
            "0".into(),
            (rng.below(4) as i64 - 1).to_string(),
        ],
        21 => vec![
            "GEOADD".into(),
            of(rng, "g"),
            format!("{}.5", rng.below(10)),
            format!("{}.25", rng.below(10)),
            e(rng),
        ],
        22 => {
            let mut c = vec!["GEOSEARCHSTORE".into(), of(rng, "d"), of(rng, "g")];
            c.extend(words(&[
                "FROMLONLAT",
                "3",
                "3",
                "BYRADIUS",
                "500",
                "km",
                "ASC",
            ]));
            if rng.below(2) == 0 {
                c.push("STOREDIST".into());
            }
            c
        }
        23 => {
            let store = ["STORE", "STOREDIST"][rng.below(2)];
            vec![
                "GEORADIUS".into(),
                of(rng, "g"),
                "3".into(),
                "3".into(),
                "500".into(),
                "km".into(),
                store.into(),
                of(rng, "d"),
            ]
        }
        24 => vec![
            "COPY".into(),
            of(rng, "l"),
            of(rng, "d"),
            "DB".into(),
            "1".into(),
        ],
        25 => {
            let mut c = vec!["LCS".into(), of(rng, "s"), of(rng, "s")];
            c.extend(words(&[["LEN", "IDX"][rng.below(2)]]));
            c
        }
        _ => vec!["DEL".into(), keys[rng.below(keys.len())].clone()],
    }
}

#[test]
fn pops_stores_and_sort_across_nodes_answer_like_one_server() {
    let (servers, oracle, cluster) = cluster_and_oracle(slot::COMPOSED);
    let mut single = oracle.connect();
    // Lists, sorted sets, bitmaps, geo sets, destinations; some tagged (stored names distinct).
    let mut keys: Vec<String> = Vec::new();
    for prefix in ["l", "z", "s", "g", "d"] {
        keys.extend((0..3).map(|i| format!("{prefix}{i}")));
        keys.push(format!("{prefix}t{{grp}}"));
    }
    assert_spread(&cluster, &keys);
    // The pattern keys SORT reads (w_*, o_*, h_*) are placed by the contract like any key.
    let mut all = keys.clone();
    for element in ["3", "1", "4", "15", "9", "2", "26", "x"] {
        all.extend(["w_", "o_", "h_"].map(|p| format!("{p}{element}")));
    }
    let crossed = differential(
        &cluster,
        &mut single,
        &keys,
        (0x5eed_0f50_a7a7, 2000),
        composed_command,
    );
    assert!(crossed > 400, "only {crossed} commands crossed nodes");
    same_final_data(&cluster, &mut single, &all);
    // COPY ... DB 1 wrote into db 1 on the destination's master, as on the one server.
    let in_db1 = |conn: &mut redis::Connection| -> i64 {
        redis::cmd("SELECT").arg(1).query::<()>(conn).unwrap();
        let n: i64 = redis::cmd("DBSIZE").query(conn).unwrap();
        redis::cmd("SELECT").arg(0).query::<()>(conn).unwrap();
        n
    };
    let ours: i64 = servers.iter().map(|s| in_db1(&mut s.connect())).sum();
    assert_eq!(ours, in_db1(&mut single), "keys copied into db 1");
    assert!(ours > 0, "COPY ... DB 1 copied something");
}
