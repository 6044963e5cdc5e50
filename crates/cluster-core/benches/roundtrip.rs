//! Command round trips through the cluster beside plain redis-rs on the same servers, in the
//! same run: the cost of routing, tags and pooling on top of the network. Starts its own
//! redis-server processes (ports from tests/ports.env) and stops them by pid at the end.

use std::hint::black_box;

use cluster_core::Cluster;
use criterion::Criterion;
use redis::Commands;

// The integration tests' server guard: started on the given port, stopped by pid on drop.
#[path = "../tests/support/mod.rs"]
mod support;

const PORTS_ENV: &str = include_str!("../../../tests/ports.env");

fn base_port() -> u16 {
    PORTS_ENV
        .lines()
        .find_map(|l| l.strip_prefix("BENCH_BASE_PORT="))
        .and_then(|p| p.trim().parse().ok())
        .expect("BENCH_BASE_PORT in tests/ports.env")
}

fn main() {
    let base = base_port();
    let ports = [base, base + 1, base + 2];
    let _servers: Vec<support::RedisServer> = ports
        .iter()
        .map(|p| support::RedisServer::start(*p))
        .collect();
    let mut direct = redis::Client::open(format!("redis://127.0.0.1:{base}"))
        .unwrap()
        .get_connection()
        .unwrap();
    let one = Cluster::from_nodes([("node_1", format!("127.0.0.1:{base}"))]).unwrap();
    let three = Cluster::from_nodes(
        ports
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("node_{}", i + 1), format!("127.0.0.1:{p}"))),
    )
    .unwrap();
    let (mut one_con, mut three_con) = (one.handle(), three.handle());
    let keys: Vec<String> = (0..64).map(|i| format!("bench:key:{i:04}")).collect();
    for key in &keys {
        let _: () = three_con.set(key, "value").unwrap();
        let _: () = direct.set(key, "value").unwrap();
    }

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("roundtrip");
    let mut i = 0usize;
    let mut next = || {
        i = (i + 1) % keys.len();
        &keys[i]
    };
    group.bench_function("GET/redis-rs direct", |b| {
        b.iter(|| black_box(direct.get::<_, Vec<u8>>(next()).unwrap()))
    });
    group.bench_function("GET/cluster 1 master", |b| {
        b.iter(|| black_box(one_con.get::<_, Vec<u8>>(next()).unwrap()))
    });
    group.bench_function("GET/cluster 3 masters", |b| {
        b.iter(|| black_box(three_con.get::<_, Vec<u8>>(next()).unwrap()))
    });
    group.bench_function("SET/redis-rs direct", |b| {
        b.iter(|| direct.set::<_, _, ()>(next(), "value").unwrap())
    });
    group.bench_function("SET/cluster 3 masters", |b| {
        b.iter(|| three_con.set::<_, _, ()>(next(), "value").unwrap())
    });
    // MGET of 1000 keys: one plain server with redis-rs vs the cluster spreading them over 3.
    let many: Vec<String> = (0..1000).map(|i| format!("bench:many:{i:05}")).collect();
    for chunk in many.chunks(100) {
        let pairs: Vec<(&String, &str)> =
            chunk.iter().map(|k| (k, "value-of-some-length")).collect();
        let _: () = direct.mset(&pairs).unwrap();
        let _: () = three_con.mset(&pairs).unwrap();
    }
    group.bench_function("MGET 1000 keys/redis-rs one server", |b| {
        b.iter(|| black_box(direct.mget::<_, Vec<Vec<u8>>>(&many).unwrap()))
    });
    group.bench_function("MGET 1000 keys/cluster 3 masters split", |b| {
        b.iter(|| black_box(three_con.mget::<_, Vec<Vec<u8>>>(&many).unwrap()))
    });
    group.bench_function("DBSIZE/redis-rs 3 servers one by one", |b| {
        let mut cons: Vec<redis::Connection> = ports
            .iter()
            .map(|p| {
                redis::Client::open(format!("redis://127.0.0.1:{p}"))
                    .unwrap()
                    .get_connection()
                    .unwrap()
            })
            .collect();
        b.iter(|| {
            let total: i64 = cons
                .iter_mut()
                .map(|c| redis::cmd("DBSIZE").query::<i64>(c).unwrap())
                .sum();
            black_box(total)
        })
    });
    group.bench_function("DBSIZE/cluster 3 masters scatter-gather", |b| {
        b.iter(|| black_box(redis::cmd("DBSIZE").query::<i64>(&mut three_con).unwrap()))
    });
    group.finish();
    c.final_summary();
}
