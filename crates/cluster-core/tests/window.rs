//! The online window of a 3 -> 5 reshard (`previous` in the config): every read path finds a
//! key that has not moved yet on its old master, exactly as a client of the old masters does:
//! single-key reads, split reads (MGET, EXISTS), pipelines, transactions and the emulated
//! multi-key commands (their reads); and every write first moves the keys it names there
//! (pull on write). The oracle is a client of the three old masters, which hold every key the
//! window has not written; a client of the five masters without the window shows what each path
//! would miss.

mod support;

use cluster_core::placement::master_index_for_key;
use cluster_core::{Cluster, ClusterConfig, Value};
use support::{RedisServer, config_of, slot, start_masters};

struct Window {
    servers: Vec<RedisServer>,
    /// The tests of this file share the slot's five ports, one test at a time.
    _turn: std::sync::MutexGuard<'static, ()>,
    /// The three masters before the reshard: every key is still there.
    old: Cluster,
    /// The five masters with the old three as `previous`.
    window: Cluster,
    /// The five masters alone: what a client without the window sees.
    plain: Cluster,
}

fn window() -> Window {
    let turn = support::take_turns();
    let servers = start_masters(slot::WINDOW, 5);
    let cluster = |config: serde_json::Value| {
        let mut config = config;
        config["mastersonly"] = true.into();
        Cluster::new(ClusterConfig::from_value(&config).unwrap()).unwrap()
    };
    let mut with_previous = config_of(&servers);
    with_previous["previous"] = config_of(&servers[..3]);
    Window {
        old: cluster(config_of(&servers[..3])),
        window: cluster(with_previous),
        plain: cluster(config_of(&servers)),
        servers,
        _turn: turn,
    }
}

/// Does `key` land on another server with five masters than with three? (`node_i` is the
/// i-th server in both configs.)
fn moves(key: &str) -> bool {
    master_index_for_key(key.as_bytes(), 3) != master_index_for_key(key.as_bytes(), 5)
}

/// `count` names `prefix0`, `prefix1`, ... that move.
fn moving(prefix: &str, count: usize) -> Vec<String> {
    (0..)
        .map(|i| format!("{prefix}{i}"))
        .filter(|k| moves(k))
        .take(count)
        .collect()
}

fn words(line: &str) -> Vec<Vec<u8>> {
    line.split(' ').map(|w| w.as_bytes().to_vec()).collect()
}

/// Arrays sorted (recursively), for replies whose order is a server's set order.
fn sorted(value: Value) -> Value {
    match value {
        Value::Array(items) | Value::Set(items) => {
            let mut items: Vec<Value> = items.into_iter().map(sorted).collect();
            items.sort_by_key(|v| format!("{v:?}"));
            Value::Array(items)
        }
        other => other,
    }
}

/// Data of every kind, written through the old masters.
struct Data {
    strings: Vec<String>,
    hash: String,
    list: String,
    sets: Vec<String>,
    zsets: Vec<String>,
    logs: Vec<String>,
    /// Keys sharing the tag `{t}`, which moves: one transaction can read them all.
    tagged: Vec<String>,
    /// Two sets that share a master among five but not among three.
    same_new_master: (String, String),
}

fn fill(old: &Cluster) -> Data {
    let run = |line: &str| old.execute(&words(line)).unwrap();
    let strings = moving("s", 6);
    for key in &strings {
        run(&format!("SET {key} value-of-{key}"));
    }
    let hash = moving("h", 1).remove(0);
    run(&format!("HSET {hash} a 1 b 2"));
    let list = moving("l", 1).remove(0);
    run(&format!("RPUSH {list} 3 1 2"));
    let sets = moving("set", 3);
    run(&format!("SADD {} a b c", sets[0]));
    run(&format!("SADD {} b c d", sets[1]));
    run(&format!("SADD {} c d e", sets[2]));
    let zsets = moving("z", 2);
    run(&format!("ZADD {} 1 a 2 b", zsets[0]));
    run(&format!("ZADD {} 3 b 4 c", zsets[1]));
    let logs = moving("hll", 2);
    run(&format!("PFADD {} a b c", logs[0]));
    run(&format!("PFADD {} c d", logs[1]));
    // SORT_RO's BY and GET patterns name keys that move too.
    for (element, weight) in [("3", "30"), ("1", "10"), ("2", "20")] {
        run(&format!("SET weight_{element} {weight}"));
        run(&format!("SET object_{element} object-{element}"));
    }
    let tag = (0..).map(|i| format!("t{i}")).find(|t| moves(t)).unwrap();
    let tagged: Vec<String> = ["a", "b", "c"]
        .iter()
        .map(|k| format!("{k}{{{tag}}}"))
        .collect();
    run(&format!("SET {} tagged-string", tagged[0]));
    run(&format!("HSET {} f v", tagged[1]));
    run(&format!("RPUSH {} x y", tagged[2]));
    let pair = moving("pair", 40);
    let same_new_master = pair
        .iter()
        .flat_map(|a| pair.iter().map(move |b| (a, b)))
        .find(|(a, b)| {
            let on = |k: &str, n| master_index_for_key(k.as_bytes(), n);
            a != b && on(a, 5) == on(b, 5) && on(a, 3) != on(b, 3)
        })
        .map(|(a, b)| (a.clone(), b.clone()))
        .unwrap();
    run(&format!("SADD {} a b", same_new_master.0));
    run(&format!("SADD {} b c", same_new_master.1));
    Data {
        strings,
        hash,
        list,
        sets,
        zsets,
        logs,
        tagged,
        same_new_master,
    }
}

/// Every kind of read, as command lines, with whether its reply's order is a set's.
fn reads(d: &Data) -> Vec<(String, bool)> {
    let s = &d.strings;
    let (a, b) = &d.same_new_master;
    let lines = [
        // One key.
        (format!("GET {}", s[0]), false),
        (format!("STRLEN {}", s[1]), false),
        (format!("HGETALL {}", d.hash), false),
        (format!("LRANGE {} 0 -1", d.list), false),
        (format!("SMEMBERS {}", d.sets[0]), true),
        (format!("ZRANGE {} 0 -1 WITHSCORES", d.zsets[0]), false),
        (format!("TYPE {}", d.zsets[1]), false),
        (format!("EXISTS {}", s[2]), false),
        // Split by key.
        (format!("MGET {} {} missing {}", s[3], s[4], s[5]), false),
        (
            format!("EXISTS {} {} {} missing", s[0], d.hash, d.list),
            false,
        ),
        // Emulated across the new masters.
        (
            format!("SUNION {} {} {}", d.sets[0], d.sets[1], d.sets[2]),
            true,
        ),
        (format!("SINTER {} {}", d.sets[0], d.sets[1]), true),
        (format!("SDIFF {} {}", d.sets[0], d.sets[2]), true),
        (format!("SINTERCARD 2 {} {}", d.sets[1], d.sets[2]), false),
        (
            format!("ZUNION 2 {} {} WITHSCORES", d.zsets[0], d.zsets[1]),
            false,
        ),
        (format!("ZINTERCARD 2 {} {}", d.zsets[0], d.zsets[1]), false),
        (format!("PFCOUNT {} {}", d.logs[0], d.logs[1]), false),
        (
            format!("SORT_RO {} BY weight_* GET object_*", d.list),
            false,
        ),
        // Two keys on one new master, from two old ones: composed key by key.
        (format!("SUNION {a} {b}"), true),
    ];
    lines.into_iter().collect()
}

#[test]
fn every_read_path_finds_keys_not_moved_yet() {
    let w = window();
    let data = fill(&w.old);
    let reads = reads(&data);
    let expected: Vec<Value> = reads
        .iter()
        .map(|(line, set)| {
            let value = w.old.execute(&words(line)).unwrap();
            if *set { sorted(value) } else { value }
        })
        .collect();
    let normal = |(line, set): &(String, bool), value: Value| {
        let _ = line;
        if *set { sorted(value) } else { value }
    };

    // One by one.
    for ((read, expected), n) in reads.iter().zip(&expected).zip(0..) {
        let got = w.window.execute(&words(&read.0)).unwrap();
        assert_eq!(&normal(read, got), expected, "read {n}: {}", read.0);
    }

    // In one pipeline, with a write in the middle (to a key of its own).
    let mut commands: Vec<Vec<Vec<u8>>> = reads.iter().map(|(line, _)| words(line)).collect();
    commands.insert(3, words("SET written-in-the-pipeline 1"));
    let mut replies: Vec<Value> = w
        .window
        .pipeline(&commands)
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(replies.remove(3), Value::Okay);
    for ((read, expected), got) in reads.iter().zip(&expected).zip(replies) {
        assert_eq!(&normal(read, got), expected, "pipeline: {}", read.0);
    }
    // Without the window the same pipeline misses the keys that have not moved.
    let plain = w.plain.pipeline(&commands).unwrap();
    assert_eq!(plain[0].as_ref().unwrap(), &Value::Nil, "{}", reads[0].0);

    // In a transaction over keys of one tag, on its new master.
    let transaction: Vec<Vec<Vec<u8>>> = [
        format!("GET {}", data.tagged[0]),
        format!("HGETALL {}", data.tagged[1]),
        format!("SET {} written", data.tagged[0]),
        format!("LRANGE {} 0 -1", data.tagged[2]),
        format!("GET {}", data.tagged[0]),
    ]
    .iter()
    .map(|line| words(line))
    .collect();
    let got = w.window.transaction(&transaction).unwrap();
    let expected_exec = Value::Array(vec![
        Value::BulkString(b"tagged-string".to_vec()),
        Value::Array(vec![
            Value::BulkString(b"f".to_vec()),
            Value::BulkString(b"v".to_vec()),
        ]),
        Value::Okay,
        Value::Array(vec![
            Value::BulkString(b"x".to_vec()),
            Value::BulkString(b"y".to_vec()),
        ]),
        Value::BulkString(b"written".to_vec()),
    ]);
    assert_eq!(got, expected_exec, "transaction in the window");
    let Value::Array(plain) = w.plain.transaction(&transaction[1..2]).unwrap() else {
        panic!("EXEC's array")
    };
    assert_eq!(
        plain[0],
        Value::Array(Vec::new()),
        "without the window the transaction misses the key"
    );
}

/// The emulated writes act on their sources' values (a write moves every key it names first,
/// sources included); what they write goes to the new masters.
#[test]
fn emulated_writes_read_their_sources_where_they_are() {
    let w = window();
    let data = fill(&w.old);
    let run = |line: &str| w.window.execute(&words(line)).unwrap();
    let destination = moving("dest", 1).remove(0);
    // Read from the old masters first: the write moves its keys off them.
    let union = w
        .old
        .execute(&words(&format!("SUNION {} {}", data.sets[0], data.sets[2])))
        .unwrap();
    assert_eq!(
        run(&format!(
            "SUNIONSTORE {destination} {} {}",
            data.sets[0], data.sets[2]
        )),
        Value::Int(5)
    );
    assert_eq!(
        sorted(run(&format!("SMEMBERS {destination}"))),
        sorted(union)
    );
    let copy = moving("copy", 1).remove(0);
    assert_eq!(
        run(&format!("COPY {} {copy}", data.strings[0])),
        Value::Int(1)
    );
    assert_eq!(
        run(&format!("GET {copy}")),
        Value::BulkString(format!("value-of-{}", data.strings[0]).into_bytes())
    );
    // MSETNX sees a key that was only on its old master.
    assert_eq!(
        run(&format!("MSETNX fresh-key 1 {} 2", data.strings[1])),
        Value::Int(0)
    );
    assert_eq!(
        w.plain.execute(&words("EXISTS fresh-key")).unwrap(),
        Value::Int(0)
    );
}

/// The window with tags kept and a routing rule: stored names are the keys, routes are the tag
/// or the rule's group, under the old masters and the new alike (`previous` has no placement
/// of its own). Every key not moved yet is found on its old master, alone, split and piped.
#[test]
fn the_window_finds_kept_names_and_rule_placed_keys_where_they_were() {
    let _turn = support::take_turns();
    let servers = start_masters(slot::WINDOW, 5);
    let placed = |mut config: serde_json::Value| {
        config["mastersonly"] = true.into();
        config["tags"] = "keep".into();
        config["routing_rules"] = serde_json::json!(["^lock(?:-signal)?:(.+)$"]);
        Cluster::new(ClusterConfig::from_value(&config).unwrap()).unwrap()
    };
    let old = placed(config_of(&servers[..3]));
    let mut with_previous = config_of(&servers);
    with_previous["previous"] = config_of(&servers[..3]);
    let window = placed(with_previous);
    let plain = placed(config_of(&servers));
    // Keys whose server changes from three masters to five (`node_i` is the same server).
    let keys: Vec<String> = (0..)
        .flat_map(|i| [format!("LIMITS:{{user{i}}}"), format!("lock:job{i}")])
        .filter(|k| old.node_for(k) != plain.node_for(k))
        .take(20)
        .collect();
    assert!(
        keys.iter().any(|k| k.starts_with("lock:"))
            && keys.iter().any(|k| k.starts_with("LIMITS:"))
    );
    for key in &keys {
        old.execute(&["SET", key, &format!("v:{key}")]).unwrap();
    }
    let value = |key: &str| Value::BulkString(format!("v:{key}").into_bytes());
    for key in &keys {
        assert_eq!(
            plain.execute(&["GET", key]).unwrap(),
            Value::Nil,
            "{key} not moved yet"
        );
        assert_eq!(window.execute(&["GET", key]).unwrap(), value(key), "{key}");
    }
    let mut mget = vec!["MGET".to_owned()];
    mget.extend(keys.iter().cloned());
    let expected: Vec<Value> = keys.iter().map(|k| value(k)).collect();
    assert_eq!(
        window.execute(&mget).unwrap(),
        Value::Array(expected.clone())
    );
    let piped: Vec<Vec<String>> = keys
        .iter()
        .map(|k| vec!["GET".to_owned(), k.clone()])
        .collect();
    let replies: Vec<Value> = window
        .pipeline(&piped)
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(replies, expected);
}

/// A write in the window first moves the keys it names from their old master (pull on write):
/// it acts on the value the key had, never on an empty key beside it. The oracle is the value
/// the old masters held; afterwards the old master has no copy left for reads to fall back on.
#[test]
fn writes_act_on_the_value_a_key_had_on_its_old_master() {
    let w = window();
    let old = |line: &str| w.old.execute(&words(line)).unwrap();
    let run = |line: &str| w.window.execute(&words(line)).unwrap();
    let int = Value::Int;
    let text = |s: &str| Value::BulkString(s.as_bytes().to_vec());
    let keys = moving("pulled", 9);
    let [
        counter,
        list,
        hash,
        lock,
        expiring,
        deleted,
        piped,
        watched,
        overwritten,
    ] = <[String; 9]>::try_from(keys).unwrap();
    old(&format!("SET {counter} 10"));
    old(&format!("RPUSH {list} a b"));
    old(&format!("HSET {hash} f 1"));
    old(&format!("SET {lock} holder"));
    old(&format!("SET {expiring} v PX 100000"));
    old(&format!("SET {deleted} v"));
    old(&format!("SET {piped} 5"));
    old(&format!("SET {watched} 1"));
    old(&format!("SET {overwritten} old"));

    assert_eq!(run(&format!("INCR {counter}")), int(11));
    assert_eq!(run(&format!("LPUSH {list} z")), int(3));
    assert_eq!(
        run(&format!("LRANGE {list} 0 -1")),
        Value::Array(vec![text("z"), text("a"), text("b")])
    );
    assert_eq!(run(&format!("HSET {hash} g 2")), int(1));
    assert_eq!(run(&format!("HLEN {hash}")), int(2));
    assert_eq!(
        run(&format!("SET {lock} me NX")),
        Value::Nil,
        "the lock is held"
    );
    assert_eq!(run(&format!("GET {lock}")), text("holder"));
    assert_eq!(run(&format!("APPEND {expiring} w")), int(2));
    let Value::Int(ttl) = run(&format!("PTTL {expiring}")) else {
        panic!("PTTL's integer")
    };
    assert!(
        (1..=100_000).contains(&ttl),
        "the expiry moved with the key: {ttl}"
    );
    assert_eq!(run(&format!("DEL {deleted}")), int(1));
    assert_eq!(
        run(&format!("GET {deleted}")),
        Value::Nil,
        "not found again"
    );
    let incr = words(&format!("INCR {piped}"));
    let replies = w.window.pipeline(&[incr.clone(), incr]).unwrap();
    assert_eq!(
        replies.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
        [int(6), int(7)]
    );
    let applied = w
        .window
        .transaction_with_watch(&[watched.as_str()], |watch| {
            let Value::BulkString(now) = watch.execute(&["GET", &watched])? else {
                panic!("the watched key's value")
            };
            let next = String::from_utf8(now).unwrap().parse::<i64>().unwrap() + 1;
            Ok(vec![vec![
                "SET".to_owned(),
                watched.clone(),
                next.to_string(),
            ]])
        })
        .unwrap();
    assert_eq!(applied, Value::Array(vec![Value::Okay]));
    assert_eq!(run(&format!("GET {watched}")), text("2"));
    // A whole replacement moves the key too: its old copy goes.
    assert_eq!(run(&format!("SETEX {overwritten} 100 20")), Value::Okay);
    assert_eq!(
        old(&format!("EXISTS {overwritten}")),
        int(0),
        "no old copy left to come back once the new value expires"
    );
    assert_eq!(run(&format!("INCR {overwritten}")), int(21));

    for key in [
        &counter,
        &list,
        &hash,
        &lock,
        &expiring,
        &deleted,
        &piped,
        &watched,
        &overwritten,
    ] {
        assert_eq!(
            old(&format!("EXISTS {key}")),
            int(0),
            "{key} left its old master"
        );
    }
    // Without the window the keys are where the writes left them.
    let plain = |line: &str| w.plain.execute(&words(line)).unwrap();
    assert_eq!(plain(&format!("GET {counter}")), text("11"));
    assert_eq!(plain(&format!("LLEN {list}")), int(3));
    assert_eq!(plain(&format!("GET {overwritten}")), text("21"));
}

/// An old master that cannot say whether it still has a key fails a write of that key, and
/// nothing is written: a write beside a copy that may still be there would lose that copy
/// once the move found the key written.
#[test]
fn a_write_fails_when_the_old_master_cannot_answer() {
    let mut w = window();
    let key = moving("unreachable", 1).remove(0);
    w.old.execute(&words(&format!("SET {key} 10"))).unwrap();
    let old_master = master_index_for_key(key.as_bytes(), 3);
    w.servers[old_master].stop();
    let error = w
        .window
        .execute(&words(&format!("INCR {key}")))
        .unwrap_err();
    let port = w.servers[old_master].port;
    assert!(
        error.to_string().contains(&format!("127.0.0.1:{port}")),
        "names the old master: {error}"
    );
    assert_eq!(
        w.plain.execute(&words(&format!("EXISTS {key}"))).unwrap(),
        Value::Int(0),
        "nothing written on the new master"
    );
}

/// `previous` naming a server another way (`localhost` for `127.0.0.1`) is not known as the
/// same server, yet a write to a key on it acts on the key and never deletes it (the window
/// "moves" it onto itself: BUSYKEY, and the old copy, which is the key, stays).
#[test]
fn a_server_named_two_ways_keeps_its_keys() {
    let w = window();
    let mut previous = config_of(&w.servers[..3]);
    for node in previous["nodes"].as_object_mut().unwrap().values_mut() {
        node["host"] = "localhost".into();
    }
    let mut config = config_of(&w.servers);
    config["previous"] = previous;
    config["mastersonly"] = true.into();
    let window = Cluster::new(ClusterConfig::from_value(&config).unwrap()).unwrap();
    let stays = (0..)
        .map(|i| format!("stays{i}"))
        .find(|k| !moves(k))
        .unwrap();
    let run = |line: &str| window.execute(&words(line)).unwrap();
    w.old.execute(&words(&format!("SET {stays} 10"))).unwrap();
    w.old
        .execute(&words(&format!("RPUSH {stays}:l a b")))
        .unwrap();
    assert_eq!(run(&format!("INCR {stays}")), Value::Int(11));
    assert_eq!(run(&format!("RPUSH {stays}:l c")), Value::Int(3));
    assert_eq!(
        w.old.execute(&words(&format!("GET {stays}"))).unwrap(),
        Value::BulkString(b"11".to_vec())
    );
    // A key that moves still moves.
    let key = moving("twice-named", 1).remove(0);
    w.old.execute(&words(&format!("SET {key} 1"))).unwrap();
    assert_eq!(run(&format!("INCR {key}")), Value::Int(2));
    assert_eq!(
        w.old.execute(&words(&format!("EXISTS {key}"))).unwrap(),
        Value::Int(0)
    );
}

/// Reads `key` through `cluster` until it answers `want`, for at most five seconds (the window
/// reads the mover's marks in the background, every 100 ms or so; a loaded machine is slower).
fn reads_as(cluster: &Cluster, key: &str, want: &Value) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        if cluster.execute(&words(&format!("GET {key}"))).unwrap() == *want {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    false
}

/// The mover's mark on an old master (`cluster_core::move_progress`) says below which bucket
/// that master holds no key that moves: the window then reads such a key on its new master
/// alone and never asks the old one. Here the mark is written by hand over a key still on its
/// old master, so the key goes unseen while the mark stands and is found again once it is gone.
#[test]
fn below_the_movers_mark_the_old_master_is_not_asked() {
    use cluster_core::move_progress::{PROGRESS_KEY, bucket};
    let w = window();
    let key = moving("marked", 1).remove(0);
    w.old.execute(&words(&format!("SET {key} old"))).unwrap();
    let old = &w.servers[master_index_for_key(key.as_bytes(), 3)];
    let mark = |value: u32| {
        redis::cmd("SET")
            .arg(PROGRESS_KEY)
            .arg(value)
            .arg("PX")
            .arg(60_000)
            .exec(&mut old.connect())
            .unwrap();
    };
    let found = Value::BulkString(b"old".to_vec());
    // Past the key's bucket: the old master is no longer asked.
    mark(bucket(key.as_bytes()) + 1);
    assert!(reads_as(&w.window, &key, &Value::Nil), "the mark is read");
    // (The window asks an old master EXISTS with each read; the marks are read with GET.)
    let asked = old.calls("exists");
    for _ in 0..5 {
        w.window.execute(&words(&format!("GET {key}"))).unwrap();
    }
    assert_eq!(old.calls("exists"), asked);
    // At the key's bucket the mover has not passed it: it is read where it is.
    mark(bucket(key.as_bytes()));
    assert!(reads_as(&w.window, &key, &found), "not past the key");
    mark(bucket(key.as_bytes()) + 1);
    assert!(reads_as(&w.window, &key, &Value::Nil));
    // No mark: unknown, both masters are asked again.
    redis::cmd("DEL")
        .arg(PROGRESS_KEY)
        .exec(&mut old.connect())
        .unwrap();
    assert!(reads_as(&w.window, &key, &found), "no mark, no shortcut");
}
