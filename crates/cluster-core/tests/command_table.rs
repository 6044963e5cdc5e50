//! The command table against a real server: every command and subcommand the server knows is
//! in the table and nothing else; arity, flags and key specs agree with `COMMAND INFO`; and for
//! a sample of every command with keys, our key positions equal the server's `COMMAND GETKEYS`.

mod support;

use std::collections::BTreeSet;

use cluster_core::commands::{
    BeginSearch, COMMANDS, CommandSpec, FindKeys, Flags, KeySpec, Strategy, key_positions, lookup,
};
use redis::Value;
use support::{RedisServer, port, slot};

/// Reads a RESP2 flat map `[k1, v1, k2, v2, ...]` (or a RESP3 map) into pairs.
fn pairs(value: &Value) -> Vec<(String, Value)> {
    match value {
        Value::Array(items) => items
            .chunks(2)
            .map(|kv| (text(&kv[0]), kv[1].clone()))
            .collect(),
        Value::Map(items) => items.iter().map(|(k, v)| (text(k), v.clone())).collect(),
        other => panic!("expected a map, got {other:?}"),
    }
}

fn get(map: &[(String, Value)], key: &str) -> Value {
    map.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or(Value::Nil)
}

fn text(value: &Value) -> String {
    match value {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::Okay => "OK".to_owned(),
        other => panic!("expected text, got {other:?}"),
    }
}

fn int(value: &Value) -> i64 {
    match value {
        Value::Int(n) => *n,
        other => panic!("expected an integer, got {other:?}"),
    }
}

fn list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) | Value::Set(items) => items.clone(),
        Value::Nil => Vec::new(),
        other => panic!("expected an array, got {other:?}"),
    }
}

/// The server's view of one command (or subcommand), from `COMMAND INFO`.
struct ServerCommand {
    name: String, // upper case, `CONFIG|GET` for subcommands
    arity: i64,
    flags: BTreeSet<String>,
    key_specs: Vec<KeySpec>,
    subcommands: Vec<ServerCommand>,
}

fn server_command(info: &Value) -> ServerCommand {
    let fields = list(info);
    ServerCommand {
        name: text(&fields[0]).to_ascii_uppercase(),
        arity: int(&fields[1]),
        flags: list(&fields[2]).iter().map(text).collect(),
        key_specs: list(&fields[8])
            .iter()
            .filter_map(server_key_spec)
            .collect(),
        subcommands: list(&fields[9]).iter().map(server_command).collect(),
    }
}

/// A key spec as ours; `None` for the `unknown` kind (keys that come from data, e.g. SORT BY)
/// and for `not_key` specs (SPUBLISH's channel: routed like a key by Redis Cluster, but not a
/// key, so never tag-stripped).
fn server_key_spec(raw: &Value) -> Option<KeySpec> {
    let spec = pairs(raw);
    if list(&get(&spec, "flags"))
        .iter()
        .any(|f| text(f) == "not_key")
    {
        return None;
    }
    let begin = pairs(&get(&spec, "begin_search"));
    let find = pairs(&get(&spec, "find_keys"));
    let (begin_type, find_type) = (text(&get(&begin, "type")), text(&get(&find, "type")));
    let begin_spec = pairs(&get(&begin, "spec"));
    let find_spec = pairs(&get(&find, "spec"));
    let begin = match begin_type.as_str() {
        "index" => BeginSearch::Index(int(&get(&begin_spec, "index")) as usize),
        "keyword" => BeginSearch::Keyword {
            // Leaked once per spec in a test: the table's type holds `&'static str`.
            keyword: Box::leak(text(&get(&begin_spec, "keyword")).into_boxed_str()),
            start_from: int(&get(&begin_spec, "startfrom")) as i32,
        },
        _ => return None,
    };
    let find = match find_type.as_str() {
        "range" => FindKeys::Range {
            last_key: int(&get(&find_spec, "lastkey")) as i32,
            step: int(&get(&find_spec, "keystep")) as usize,
            limit: int(&get(&find_spec, "limit")) as usize,
        },
        "keynum" => FindKeys::KeyNum {
            key_num_index: int(&get(&find_spec, "keynumidx")) as usize,
            first_key: int(&get(&find_spec, "firstkey")) as usize,
            step: int(&get(&find_spec, "keystep")) as usize,
        },
        _ => return None,
    };
    let incomplete = list(&get(&spec, "flags"))
        .iter()
        .any(|f| text(f) == "incomplete");
    Some(KeySpec {
        begin,
        find,
        incomplete,
    })
}

fn server_commands(con: &mut redis::Connection) -> Vec<ServerCommand> {
    let all: Value = redis::cmd("COMMAND").arg("INFO").query(con).unwrap();
    list(&all).iter().map(server_command).collect()
}

/// Every row of the table with its full name (`CONFIG|GET` for subcommands).
fn table_rows() -> Vec<(String, &'static CommandSpec)> {
    let mut rows = Vec::new();
    for command in COMMANDS {
        rows.push((command.name.to_owned(), command));
        for sub in command.subcommands {
            rows.push((format!("{}|{}", command.name, sub.name), sub));
        }
    }
    rows
}

fn find_row(full_name: &str) -> Option<&'static CommandSpec> {
    let words: Vec<&str> = full_name.split('|').collect();
    let spec = lookup(&words)?;
    // `lookup` falls back to the container for unknown subcommands: that is not a match.
    (words.len() == 1 || spec.name == words[1]).then_some(spec)
}

const REDIS_FLAGS: [(&str, Flags); 7] = [
    ("readonly", Flags::READ),
    ("write", Flags::WRITE),
    ("admin", Flags::ADMIN),
    ("blocking", Flags::BLOCKING),
    ("pubsub", Flags::PUBSUB),
    ("noscript", Flags::NOSCRIPT),
    ("movablekeys", Flags::MOVABLE_KEYS),
];

#[test]
fn the_table_matches_command_info() {
    let server = RedisServer::start(port(slot::COMMAND_TABLE));
    let mut con = server.connect();
    let mut server_names = BTreeSet::new();
    let mut checked = 0;
    for command in server_commands(&mut con) {
        let subs: Vec<(String, &ServerCommand)> = command
            .subcommands
            .iter()
            .map(|s| (s.name.clone(), s))
            .collect();
        for (name, theirs) in std::iter::once((command.name.clone(), &command)).chain(subs) {
            server_names.insert(name.clone());
            let ours =
                find_row(&name).unwrap_or_else(|| panic!("{name} is missing from the table"));
            assert_eq!(ours.arity as i64, theirs.arity, "{name}: arity");
            for (redis_flag, flag) in REDIS_FLAGS {
                assert_eq!(
                    ours.flags.contains(flag),
                    theirs.flags.contains(redis_flag),
                    "{name}: flag {redis_flag}"
                );
            }
            // SORT's STORE spec is `unknown` to Redis; ours walks SORT's grammar instead (its
            // positions are checked against GETKEYS below).
            let ours_specs: Vec<KeySpec> = ours
                .keys
                .iter()
                .filter(|k| k.begin != BeginSearch::SortStore)
                .copied()
                .collect();
            assert_eq!(ours_specs, theirs.key_specs, "{name}: key specs");
            checked += 1;
        }
    }
    let ours: BTreeSet<String> = table_rows().into_iter().map(|(name, _)| name).collect();
    let invented: Vec<&String> = ours.difference(&server_names).collect();
    assert!(
        invented.is_empty(),
        "rows the server does not know: {invented:?}"
    );
    assert!(
        checked > 300,
        "only {checked} commands and subcommands checked"
    );
    eprintln!("checked {checked} commands and subcommands against COMMAND INFO");
}

#[test]
fn key_positions_match_command_getkeys() {
    let server = RedisServer::start(port(slot::COMMAND_TABLE + 1));
    let mut con = server.connect();
    let file = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/command_samples.json"
    ))
    .unwrap();
    let samples: serde_json::Value = serde_json::from_str(&file).unwrap();
    let mut covered = BTreeSet::new();
    let (mut compared, mut skipped) = (0, 0);
    let synthesized = samples["synthesized"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s, false));
    let hand = samples["hand"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s, true));
    for (sample, must_be_valid) in synthesized.chain(hand) {
        let args: Vec<String> = sample
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect();
        let spec = lookup(&args).unwrap_or_else(|| panic!("{args:?}: not in the table"));
        let reply: redis::RedisResult<Vec<String>> = redis::cmd("COMMAND")
            .arg("GETKEYS")
            .arg(&args)
            .query(&mut con);
        let theirs = match reply {
            Ok(keys) => keys,
            // Samples synthesized from COMMAND DOCS cannot always satisfy a command's rules
            // (EVAL's numkeys with optional keys left out): the hand-written ones cover those.
            Err(_) if !must_be_valid => {
                skipped += 1;
                continue;
            }
            Err(e) => panic!("{args:?}: the server refused a hand-written sample: {e}"),
        };
        let ours: Vec<String> = match key_positions(spec, &args) {
            Ok(positions) => positions.into_iter().map(|i| args[i].clone()).collect(),
            Err(e) => {
                // We refuse a malformed command before sending it where GETKEYS merely skips
                // the missing keys; that is only right if the server refuses to run it too.
                let run: redis::RedisResult<Value> =
                    redis::cmd(&args[0]).arg(&args[1..]).query(&mut con);
                assert!(
                    run.is_err(),
                    "{args:?}: we refuse ({}), the server runs it",
                    e.message()
                );
                assert!(
                    must_be_valid || theirs.is_empty(),
                    "{args:?}: server keys {theirs:?}"
                );
                skipped += 1;
                continue;
            }
        };
        if spec.keys.iter().any(|k| k.incomplete) {
            // Incomplete specs (SORT's STORE, MIGRATE's KEYS) are resolved by the server with
            // its own key procedure, which may order or filter differently: compare as sets.
            let (a, b): (BTreeSet<_>, BTreeSet<_>) =
                (ours.iter().collect(), theirs.iter().collect());
            assert!(
                b.is_subset(&a),
                "{args:?}: ours {ours:?}, server {theirs:?}"
            );
        } else {
            assert_eq!(ours, theirs, "{args:?}: key positions");
        }
        let name = if spec.subcommands.is_empty() && !COMMANDS.iter().any(|c| std::ptr::eq(c, spec))
        {
            format!("{}|{}", args[0].to_ascii_uppercase(), spec.name)
        } else {
            spec.name.to_owned()
        };
        covered.insert(name);
        compared += 1;
    }
    let uncovered: Vec<String> = table_rows()
        .into_iter()
        .filter(|(_, spec)| spec.has_keys())
        .map(|(name, _)| name)
        .filter(|name| !covered.contains(name))
        .collect();
    assert!(
        uncovered.is_empty(),
        "commands with keys and no GETKEYS sample: {uncovered:?}"
    );
    eprintln!(
        "compared {compared} samples with COMMAND GETKEYS ({skipped} synthesized ones the server refused)"
    );
}

#[test]
fn the_table_is_sorted_upper_case_and_found_in_any_case() {
    for rows in std::iter::once(COMMANDS).chain(COMMANDS.iter().map(|c| c.subcommands)) {
        for pair in rows.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} before {}",
                pair[0].name,
                pair[1].name
            );
        }
        for row in rows {
            assert_eq!(row.name, row.name.to_ascii_uppercase());
        }
    }
    assert_eq!(lookup(&["get", "k"]).unwrap().name, "GET");
    assert_eq!(lookup(&["Config", "get", "x"]).unwrap().name, "GET");
    assert!(matches!(
        lookup(&["CONFIG", "GET", "x"]).unwrap().strategy,
        Strategy::FanOut(_)
    ));
    assert_eq!(
        lookup(&["config", "nope"]).unwrap().name,
        "CONFIG",
        "unknown subcommand: the container"
    );
    assert!(lookup(&["nosuchcommand"]).is_none());
    assert!(lookup::<&str>(&[]).is_none());
    assert!(
        lookup(&["SELECT", "1"])
            .unwrap()
            .flags
            .contains(Flags::CONNECTION)
    );
}
