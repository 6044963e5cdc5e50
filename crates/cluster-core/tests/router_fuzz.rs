//! The router on random argument lists: every command of the table, random arity, random
//! bytes, hostile `numkeys`. It must never panic, and every plan it makes must be sound: tagged
//! key positions inside the arguments, ascending, each naming a tagged argument.

mod support;

use cluster_core::commands::{COMMANDS, Emulation};
use cluster_core::placement::Placement;
use cluster_core::placement::split_tag;
use cluster_core::router::{Plan, plan};
use support::{Rng, config_of, slot, start_masters};

const WORDS: &[&[u8]] = &[
    b"0",
    b"1",
    b"2",
    b"3",
    b"-1",
    b"99999999999999999999",
    b"",
    b"{",
    b"}",
    b"a{b}",
    b"{b}",
    b"x{t}",
    b"y{t}",
    b"STORE",
    b"STREAMS",
    b"KEYS",
    b"BY",
    b"GET",
    b"LIMIT",
    b"*",
    b"#",
    b"WEIGHTS",
    b"\xff\x00",
    b"k",
    b"nosort",
];

fn random_arg(rng: &mut Rng) -> Vec<u8> {
    if rng.below(3) == 0 {
        (0..rng.below(6)).map(|_| rng.next() as u8).collect()
    } else {
        WORDS[rng.below(WORDS.len())].to_vec()
    }
}

#[test]
fn random_commands_never_panic_and_plans_are_sound() {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let mut planned = 0;
    for round in 0..200_000 {
        let command = &COMMANDS[rng.below(COMMANDS.len())];
        let mut args: Vec<Vec<u8>> = vec![command.name.to_ascii_lowercase().into_bytes()];
        if !command.subcommands.is_empty() && rng.below(4) != 0 {
            let sub = &command.subcommands[rng.below(command.subcommands.len())];
            args.push(sub.name.as_bytes().to_vec());
        }
        for _ in 0..rng.below(9) {
            args.push(random_arg(&mut rng));
        }
        let masters = 1 + rng.below(16);
        match plan(&args, &Placement::default(), masters) {
            Ok(Plan::Single {
                shard, stored_keys, ..
            }) => {
                planned += 1;
                assert!(shard < masters, "round {round}: {args:?}");
                for pair in stored_keys.windows(2) {
                    assert!(
                        pair[0].0 < pair[1].0,
                        "round {round}: positions not ascending {args:?}"
                    );
                }
                for (at, stored) in &stored_keys {
                    assert!(*at > 0 && *at < args.len(), "round {round}: {args:?}");
                    let key = split_tag(&args[*at]);
                    assert!(
                        key.is_tagged() && key.stored == *stored,
                        "round {round}: {args:?}"
                    );
                }
            }
            Ok(Plan::Split { unit, groups, .. }) => {
                planned += 1;
                assert!(
                    groups.len() > 1,
                    "round {round}: a split over one node {args:?}"
                );
                for pair in groups.windows(2) {
                    assert!(pair[0].shard < pair[1].shard, "round {round}: {args:?}");
                }
                let mut all: Vec<usize> = groups.iter().flat_map(|g| g.positions.clone()).collect();
                all.sort_unstable();
                // The keys and their arguments tile the command exactly, once each.
                for (i, at) in all.iter().enumerate() {
                    assert_eq!(*at, all[0] + i * unit, "round {round}: {args:?}");
                }
                assert_eq!(
                    all[0] + all.len() * unit,
                    args.len(),
                    "round {round}: {args:?}"
                );
                assert!(groups.iter().all(|g| g.shard < masters));
            }
            Ok(Plan::Emulated { emulation, keys }) => {
                planned += 1;
                let first = keys[0].1;
                // SORT with BY/GET patterns is composed wherever its key is: the pattern keys
                // may live anywhere. Everything else is emulated only across nodes.
                assert!(
                    keys.iter().any(|(_, s)| *s != first)
                        || (matches!(emulation, Emulation::Sort { .. })
                            && cluster_core::commands::sort_reads_patterns(&args)),
                    "round {round}: emulated on one node {args:?}"
                );
                assert!(
                    keys.iter()
                        .all(|(at, s)| *at > 0 && *at < args.len() && *s < masters)
                );
            }
            Ok(Plan::FanOut { .. } | Plan::Walk | Plan::Session(_)) => planned += 1,
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
    assert!(
        planned > 10_000,
        "only {planned} random commands were plannable"
    );
}

/// Random argument lists for every command that runs over several masters (split, emulated,
/// fan-out, channel), executed against three real masters: errors are fine, a panic or a hang
/// is not (a 0.3 s read timeout bounds the blocking ones).
#[test]
fn random_cross_node_commands_never_panic_on_real_servers() {
    use cluster_core::commands::Strategy;
    let servers = start_masters(slot::FUZZ, 3);
    let mut config = config_of(&servers);
    config["mastersonly"] = true.into();
    config["socket_timeout"] = 0.3.into();
    let cluster =
        cluster_core::Cluster::new(cluster_core::ClusterConfig::from_value(&config).unwrap())
            .unwrap();
    let risky: Vec<&cluster_core::commands::CommandSpec> = COMMANDS
        .iter()
        .filter(|c| {
            matches!(
                c.strategy,
                Strategy::Split(_) | Strategy::Emulated(_) | Strategy::Channel
            )
        })
        .collect();
    let keys: [&[u8]; 6] = [b"k1", b"k2", b"k3", b"t{a}", b"u{a}", b"k4"];
    let mut rng = Rng(0xfa11_0ff5);
    let mut ran = 0;
    for _ in 0..3000 {
        let command = risky[rng.below(risky.len())];
        let mut args: Vec<Vec<u8>> = vec![command.name.as_bytes().to_vec()];
        for _ in 0..rng.below(8) {
            args.push(if rng.below(2) == 0 {
                keys[rng.below(keys.len())].to_vec()
            } else {
                random_arg(&mut rng)
            });
        }
        ran += usize::from(!matches!(
            cluster.execute(&args),
            Err(cluster_core::ClusterError::Command(_))
        ));
        // Seed some data of every kind so the emulations meet real values.
        let key = keys[rng.below(keys.len())];
        let seed: [&[u8]; 4] = match rng.below(5) {
            0 => [b"SET", key, b"v", b"NX"],
            1 => [b"RPUSH", key, b"a", b"b"],
            2 => [b"SADD", key, b"a", b"b"],
            3 => [b"ZADD", key, b"1", b"a"],
            _ => [b"PFADD", key, b"a", b"b"],
        };
        let _ = cluster.execute(&seed);
    }
    // Most random lines are malformed and refused before sending; enough must reach servers.
    assert!(ran > 1000, "only {ran} random commands reached the servers");
}
