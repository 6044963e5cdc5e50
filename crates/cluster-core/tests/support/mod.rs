//! Real `redis-server` processes for the integration tests: started on loopback ports taken
//! from `tests/ports.env`, stopped by their own pid when the guard drops (also on panic).
#![allow(dead_code)] // each test binary uses a different part of this module

pub mod redis_cluster;
pub mod vectors;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cluster_core::{Cluster, ClusterConfig};

/// The ports file shared by every script and test of the repository.
const PORTS_ENV: &str = include_str!("../../../../tests/ports.env");

/// The options every redis-server of the repository's tests starts with (one source for the
/// Rust tests, the Python tests, the fault suite and the scripts).
const SERVER_ARGS: &str = include_str!("../../../../tests/redis-server.args");

/// `tests/redis-server.args` as arguments: `--name value` per line, `""` the empty value.
pub fn common_server_args() -> Vec<String> {
    SERVER_ARGS
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .flat_map(|line| {
            let (name, value) = line.split_once(' ').expect("`--name value` per line");
            let value = match value.trim() {
                "\"\"" => "",
                value => value,
            };
            [name.to_owned(), value.to_owned()]
        })
        .collect()
}

/// Each test binary owns a slice of the Rust test port range, so binaries can run at once
/// (nextest) without sharing servers. Offsets from `RUST_TEST_BASE_PORT`.
pub mod slot {
    // A binary uses ports offset + 0..span; `SLICES` lists the spans, and a test checks that
    // no two slices overlap and that all stay below offset 140 (ports up to 7149; the Python
    // tests use 7150.., the benches 7190..).
    pub const COMMAND_TABLE: u16 = 0;
    /// window.rs: five masters, the online window of a 3 -> 5 reshard.
    pub const WINDOW: u16 = 3;
    pub const PLACEMENT: u16 = 8;
    pub const PIPELINES: u16 = 11;
    pub const ROUTING: u16 = 14;
    pub const REPLICAS: u16 = 37;
    pub const FAILURES: u16 = 59;
    /// pubsub.rs: the waker test's one master.
    pub const PUBSUB_WAKER: u16 = 65;
    pub const CONFIG: u16 = 66;
    pub const SPLIT: u16 = 67;
    pub const FAN_OUT: u16 = 80;
    pub const EMULATED: u16 = 86;
    pub const PUBSUB: u16 = 102;
    pub const FUZZ: u16 = 106;
    pub const COMPOSED: u16 = 109;
    pub const ADMIN: u16 = 113;
    /// resilience.rs, security.rs and threads.rs take turns on these three ports (see
    /// `support::take_turns`).
    pub const SHARED: u16 = 116;
    pub const SESSION: u16 = 119;
    /// crates/cli's tests (they include this module by path).
    pub const MIGRATE: u16 = 125;
    /// crates/cli's reshard test.
    pub const RESHARD: u16 = 135;

    /// `(offset, span)` of every binary's slice.
    pub const SLICES: [(u16, u16); 20] = [
        (COMMAND_TABLE, 3),
        (WINDOW, 5),
        (PLACEMENT, 3),
        (PIPELINES, 3),
        (ROUTING, 23),
        (REPLICAS, 22),
        (FAILURES, 6),
        (PUBSUB_WAKER, 1),
        (CONFIG, 1),
        (SPLIT, 13),
        (FAN_OUT, 6),
        (EMULATED, 16),
        (PUBSUB, 4),
        (FUZZ, 3),
        (COMPOSED, 4),
        (ADMIN, 3),
        (SHARED, 3),
        (SESSION, 6),
        (MIGRATE, 10),
        (RESHARD, 5),
    ];
}

/// A `KEY=port` line of `tests/ports.env`.
pub fn port_setting(key: &str) -> u16 {
    PORTS_ENV
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("{key} in tests/ports.env"))
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{key} is a port number"))
}

/// `RUST_TEST_BASE_PORT + offset`.
pub fn port(offset: u16) -> u16 {
    assert!(
        offset < 140,
        "test port offset {offset} runs into the bench ports"
    );
    let base = PORTS_ENV
        .lines()
        .find_map(|line| line.strip_prefix("RUST_TEST_BASE_PORT="))
        .expect("RUST_TEST_BASE_PORT in tests/ports.env")
        .trim()
        .parse::<u16>()
        .expect("RUST_TEST_BASE_PORT is a port number");
    base + offset
}

/// xorshift64*: a deterministic random source, so a failing random test replays.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a>(&mut self, items: &'a [String]) -> &'a str {
        &items[self.below(items.len())]
    }
}

/// `count` masters on `offset + 0..count`.
pub fn start_masters(offset: u16, count: u16) -> Vec<RedisServer> {
    (0..count)
        .map(|i| RedisServer::start(port(offset + i)))
        .collect()
}

/// The seed's config shape naming `servers` `node_1..` in order.
pub fn config_of(servers: &[RedisServer]) -> serde_json::Value {
    let nodes: serde_json::Map<String, serde_json::Value> = servers
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (
                format!("node_{}", i + 1),
                serde_json::json!({"host": "127.0.0.1", "port": s.port}),
            )
        })
        .collect();
    serde_json::json!({ "nodes": nodes })
}

/// A cluster over `servers`, named `node_1..` in order, reading from masters (replicas are the
/// replica tests' subject).
pub fn cluster_of(servers: &[RedisServer]) -> Cluster {
    let mut config = config_of(servers);
    config["mastersonly"] = true.into();
    Cluster::new(ClusterConfig::from_value(&config).unwrap()).unwrap()
}

/// A command run through `Cluster::execute_items`, its visited elements gathered into the
/// array `execute` would answer (an element a visit never reached shows as a status text no
/// real reply has).
#[allow(dead_code)] // not every test binary reads element by element
pub fn execute_visited<A: AsRef<[u8]>>(
    cluster: &Cluster,
    args: &[A],
) -> Result<cluster_core::Value, cluster_core::ClusterError> {
    use cluster_core::{Item, Value};
    let mut seen: Vec<Option<Value>> = vec![None; args.len() - 1];
    let answered = cluster.execute_items(args, &mut |at, item| {
        seen[at] = Some(match item {
            Item::Bytes(bytes) => Value::BulkString(bytes.to_vec()),
            Item::Value(value) => value,
        });
    })?;
    Ok(match answered {
        Some(value) => value,
        None => Value::Array(
            seen.into_iter()
                .map(|v| v.unwrap_or(Value::SimpleString("never visited".into())))
                .collect(),
        ),
    })
}

/// The first key `k0`, `k1`, ... that lands on `node`.
pub fn key_on(cluster: &Cluster, node: &str) -> String {
    (0..)
        .map(|i| format!("k{i}"))
        .find(|k| cluster.node_for(k) == node)
        .unwrap()
}

/// One redis-server child process that this test started.
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
    dir: PathBuf,
}

impl RedisServer {
    /// A master on `port`, ready to answer when this returns.
    pub fn start(port: u16) -> RedisServer {
        Self::spawn(port, &[])
    }

    /// A replica of the master on `master_port`, with its link up when this returns.
    pub fn start_replica(port: u16, master_port: u16) -> RedisServer {
        let master = master_port.to_string();
        let server = Self::spawn(port, &["--replicaof", "127.0.0.1", &master]);
        wait_for_replication(port, "master_link_status:up");
        // The master lists the replica as online a moment later (after the replica's first
        // REPLCONF ACK), and only online replicas are discovered.
        wait_for_replication(master_port, &format!("port={port},state=online"));
        server
    }

    /// A master with extra `redis-server` options (`--requirepass`, ...).
    pub fn start_with(port: u16, extra: &[&str]) -> RedisServer {
        Self::spawn(port, extra)
    }

    fn spawn(port: u16, extra: &[&str]) -> RedisServer {
        let dir = std::env::temp_dir().join(format!("rediscluster-rust-test-{port}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create server dir");
        let child = Command::new("redis-server")
            .args(common_server_args())
            .args(["--port", &port.to_string()])
            .args(["--daemonize", "no", "--logfile", "server.log"])
            .args(extra)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "start redis-server (is the Debian package installed? `make test` installs it)",
            );
        let mut server = RedisServer {
            port,
            child: Some(child),
            dir,
        };
        server.wait_until_ready();
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A direct connection, bypassing the cluster: how tests see what is really on a server.
    pub fn connect(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .expect("url")
            .get_connection_with_timeout(Duration::from_secs(2))
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.port))
    }

    /// Like `connect`, with a password.
    pub fn connect_auth(&self, user: Option<&str>, password: &str) -> redis::Connection {
        let url = match user {
            Some(user) => format!("redis://{user}:{password}@127.0.0.1:{}", self.port),
            None => format!("redis://:{password}@127.0.0.1:{}", self.port),
        };
        redis::Client::open(url)
            .expect("url")
            .get_connection_with_timeout(Duration::from_secs(2))
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.port))
    }

    pub fn info(&self, section: &str) -> String {
        redis::cmd("INFO")
            .arg(section)
            .query(&mut self.connect())
            .expect("INFO")
    }

    /// How many times this server ran `command` (from `INFO commandstats`).
    pub fn calls(&self, command: &str) -> u64 {
        let needle = format!("cmdstat_{}:calls=", command.to_ascii_lowercase());
        self.info("commandstats")
            .lines()
            .find_map(|line| line.strip_prefix(&needle))
            .map(|rest| rest.split(',').next().unwrap().parse().unwrap())
            .unwrap_or(0)
    }

    pub fn reset_stats(&self) {
        let _: () = redis::cmd("CONFIG")
            .arg("RESETSTAT")
            .query(&mut self.connect())
            .expect("CONFIG RESETSTAT");
    }

    /// Freezes the server (SIGSTOP to our own child): it keeps its port and accepts
    /// connections (the kernel does) but answers nothing, like a hung or swapped-out host.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused server run again (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let status = Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// Stops the server now (SIGKILL to our own child) and waits for it to be gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts this server again on the same port after `stop` (as a master, empty).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "restart after stop");
        let again = Self::spawn(self.port, &[]);
        *self = again;
    }

    /// Waits until *our* child logs that it accepts connections. (Answering PING is not
    /// enough: a port already taken by another server answers too, while our child exits.)
    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let log = self.dir.join("server.log");
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("Ready to accept connections") {
                return;
            }
            let exited = self
                .child
                .as_mut()
                .is_some_and(|child| child.try_wait().ok().flatten().is_some());
            assert!(
                !exited && Instant::now() < deadline,
                "redis-server on port {} did not start (port taken?); log: {text}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Test binaries whose tests share ports run those tests one at a time: each holds this
/// guard while its servers live.
pub fn take_turns() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock().unwrap_or_else(|p| p.into_inner())
}

/// Waits until `INFO replication` of the server on `port` contains `needle`.
fn wait_for_replication(port: u16, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let info: String = redis::Client::open(format!("redis://127.0.0.1:{port}"))
            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
            .and_then(|mut c| redis::cmd("INFO").arg("replication").query(&mut c))
            .unwrap_or_default();
        if info.contains(needle) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "port {port}: no '{needle}' in INFO replication"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
