//! One client shared by 16 threads doing 100k mixed operations, each thread on its own keys
//! and checking every reply: no cross-talk between threads, no reply given to the wrong caller.

use std::collections::HashMap;

use cluster_core::Cluster;
use redis::Commands;

use crate::support::{Rng, cluster_of, slot, start_masters, take_turns};

const THREADS: usize = 16;
const OPERATIONS: usize = 100_000;

#[test]
fn sixteen_threads_share_one_client_without_cross_talk() {
    let _turn = take_turns();
    let servers = start_masters(slot::SHARED, 3);
    let cluster = cluster_of(&servers);
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let cluster = cluster.clone();
            scope.spawn(move || run(&cluster, thread));
        }
    });
    let total: i64 = (0..THREADS)
        .map(|t| {
            redis::from_redis_value::<i64>(cluster.execute(&["GET", &format!("ops:{t}")]).unwrap())
                .unwrap()
        })
        .sum();
    assert_eq!(total as usize, OPERATIONS);
}

/// One thread's share: strings, counters, hashes, lists, multi-key reads and writes over
/// keys on every node, all checked against what this thread knows it wrote.
fn run(cluster: &Cluster, thread: usize) {
    let mut con = cluster.handle();
    let mut rng = Rng(0x5eed + thread as u64);
    let mut strings: HashMap<String, String> = HashMap::new();
    let mut counter = 0i64;
    let mut list_len = 0usize;
    let (counter_key, hash_key, list_key) = (
        format!("t{thread}:counter"),
        format!("t{thread}:hash"),
        format!("t{thread}:list"),
    );
    for op in 0..OPERATIONS / THREADS {
        let key = format!("t{thread}:k{}", rng.below(50));
        match rng.below(7) {
            0 | 1 => {
                let value = format!("{thread}:{op}");
                let _: () = con.set(&key, &value).unwrap();
                strings.insert(key, value);
            }
            2 => {
                let got: Option<String> = con.get(&key).unwrap();
                assert_eq!(got.as_ref(), strings.get(&key), "thread {thread} {key}");
            }
            3 => {
                counter += 1;
                let n: i64 = con.incr(&counter_key, 1).unwrap();
                assert_eq!(n, counter, "thread {thread}");
            }
            4 => {
                let field = format!("f{}", rng.below(5));
                let _: () = con.hset(&hash_key, &field, op).unwrap();
                let back: usize = con.hget(&hash_key, &field).unwrap();
                assert_eq!(back, op);
            }
            5 => {
                list_len = con.rpush(&list_key, op).unwrap();
                let last: usize = con.lindex(&list_key, -1).unwrap();
                assert_eq!(last, op);
            }
            _ => {
                // Keys over several nodes in one call: split and reassembled in order.
                let keys: Vec<String> = (0..8)
                    .map(|_| format!("t{thread}:k{}", rng.below(50)))
                    .collect();
                let got: Vec<Option<String>> = con.mget(&keys).unwrap();
                let expected: Vec<Option<String>> =
                    keys.iter().map(|k| strings.get(k).cloned()).collect();
                assert_eq!(got, expected, "thread {thread}");
            }
        }
        let _: () = con.incr(format!("ops:{thread}"), 1).unwrap();
    }
    let len: usize = con.llen(&list_key).unwrap();
    assert_eq!(len, list_len);
}
