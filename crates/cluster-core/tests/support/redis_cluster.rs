//! A Redis Cluster for the tests: six nodes (3 masters, 3 replicas) that `tests/cluster.sh`
//! starts with `CLUSTER_KIND=redis_cluster` on `REDIS_CLUSTER_TEST_BASE_PORT`, stopped by it
//! when the guard drops. The test binaries that start it run one after another (`make test`
//! runs cargo's binaries in turn): they share the ports.

use std::path::{Path, PathBuf};
use std::process::Command;

use cluster_core::ClusterConfig;

use super::port_setting;

/// Six cluster nodes started by `tests/cluster.sh`, stopped by it when dropped.
pub struct RedisClusterServers {
    pub base: u16,
    pub state: PathBuf,
}

impl RedisClusterServers {
    pub fn start() -> RedisClusterServers {
        let base = port_setting("REDIS_CLUSTER_TEST_BASE_PORT");
        let state = std::env::temp_dir().join(format!("rediscluster-rust-rc-{base}"));
        let servers = RedisClusterServers { base, state };
        let out = servers.script("start");
        assert!(
            out.status.success(),
            "cluster.sh start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        servers
    }

    pub fn script(&self, action: &str) -> std::process::Output {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        Command::new("bash")
            .arg(root.join("tests/cluster.sh"))
            .args([action, &self.base.to_string()])
            .env("CLUSTER_KIND", "redis_cluster")
            .env("REDISCLUSTER_DEV_DIR", &self.state)
            .output()
            .expect("bash tests/cluster.sh")
    }

    pub fn ports(&self) -> Vec<u16> {
        (self.base..self.base + 6).collect()
    }

    /// The seeds: the three masters.
    pub fn seeds(&self) -> Vec<String> {
        self.ports()[..3]
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect()
    }

    /// The client config, reads to masters only (read-your-writes) unless `replica_reads`.
    pub fn config(&self, replica_reads: bool) -> ClusterConfig {
        let config = serde_json::json!({
            "redis_cluster": {"nodes": self.seeds()},
            "mastersonly": !replica_reads,
        });
        ClusterConfig::from_value(&config).unwrap()
    }
}

impl Drop for RedisClusterServers {
    fn drop(&mut self) {
        let _ = self.script("stop");
    }
}
