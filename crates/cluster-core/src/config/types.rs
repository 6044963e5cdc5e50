//! What a validated cluster config is: the masters in placement order, their replicas, and the
//! settings of each server. Built only by the parsers next to this module, which check the
//! whole config before anything connects.

use std::time::Duration;

use super::scripts::KeylessScripts;
use super::tls::TlsSettings;
use super::transactions::CrossNodeTransactions;
use std::sync::Arc;

use crate::placement::{Distribution, DistributionSpec, Placement, RoutingRules, TagMode};

/// Connect timeout when the config gives none: long enough for a loaded server, short enough
/// that a dead node is noticed.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A replica lagging more than this behind its master is not read from (`max_replica_lag`).
pub const DEFAULT_MAX_REPLICA_LAG: Duration = Duration::from_secs(3);

/// How often replicas are re-discovered and their link and lag checked
/// (`replica_check_interval`).
pub const DEFAULT_REPLICA_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// A password that never shows in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How to reach and log in to one Redis server.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeConfig {
    /// `node_1`, ... for masters; the config's own name for a replica named in `master_of`,
    /// `node_1 replica 10.0.0.2:6380` for one discovered through its master.
    pub name: String,
    pub host: String,
    pub port: u16,
    pub db: i64,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub connect_timeout: Option<Duration>,
    pub read_timeout: Option<Duration>,
    /// TLS settings when the node is reached over TLS (`ssl: true`).
    pub tls: Option<TlsSettings>,
    /// Sends READONLY after connecting: a Redis Cluster replica then answers reads of its
    /// master's slots instead of redirecting them.
    pub readonly: bool,
}

impl NodeConfig {
    /// A server at `host:port` with the defaults: db 0, no credentials, no TLS, the default
    /// connect timeout and no read timeout.
    pub fn new(name: impl Into<String>, host: impl Into<String>, port: u16) -> NodeConfig {
        NodeConfig {
            name: name.into(),
            host: host.into(),
            port,
            db: 0,
            username: None,
            password: None,
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            read_timeout: None,
            tls: None,
            readonly: false,
        }
    }

    /// `host:port` (IPv6 hosts in brackets), as errors show it.
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// How long connecting may take in all (TCP, TLS handshake, AUTH): the connect timeout,
    /// but never longer than the read timeout, so a server that accepts connections (the
    /// kernel does, even for a stopped process) but answers nothing holds no caller longer
    /// than a call would.
    pub fn connect_phase_timeout(&self) -> Option<Duration> {
        match (self.connect_timeout, self.read_timeout) {
            (Some(connect), Some(read)) => Some(connect.min(read)),
            (connect, read) => connect.or(read),
        }
    }

    /// Settings for a server found through `INFO replication` of this master (or a Redis
    /// Cluster's map, then `readonly`): same db, credentials and timeouts, another address,
    /// named `node_1 replica host:port`.
    pub fn replica_at(&self, host: &str, port: u16, readonly: bool) -> NodeConfig {
        let mut replica = self.clone();
        replica.host = host.to_owned();
        replica.port = port;
        replica.readonly = readonly;
        replica.name = format!("{} replica {}", self.name, replica.addr());
        replica
    }
}

/// A validated cluster: masters in placement order and, optionally, their replicas.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterConfig {
    /// `masters[i]` is `node_{i+1}`; its position is its placement.
    pub masters: Vec<NodeConfig>,
    /// Replicas named in `master_of`, by master index. When `master_of` is given, replicas are
    /// not discovered.
    pub replicas: Vec<Vec<NodeConfig>>,
    /// `master_of` was given: use exactly those replicas.
    pub explicit_replicas: bool,
    /// Send reads to masters too (read-your-writes).
    pub masters_only: bool,
    /// The masters before a reshard (`previous` in the config): while set, a read that misses
    /// on a key's node is answered by the key's node under these masters (the online window).
    pub previous: Option<Vec<NodeConfig>>,
    /// How `previous`'s masters placed keys where it differs from this config: its own
    /// distribution and, if it names one, tag mode (see `previous_placement`).
    pub previous_distribution: PreviousPlacement,
    /// When replicas may serve reads, and how often that is checked.
    pub replica_health: ReplicaHealth,
    /// What a transaction over keys on several masters does (`cross_node_transactions`).
    pub cross_node_transactions: CrossNodeTransactions,
    /// Where a script that declares no key runs (`keyless_scripts`).
    pub keyless_scripts: KeylessScripts,
    /// How keys are placed (`tags`, `routing_rules`; see `config/placement.rs`).
    pub placement: Placement,
    /// The servers are a Redis Cluster (the config's `redis_cluster`): `masters` are only
    /// where to start; the cluster's own map says which servers serve which slots.
    pub redis_cluster: bool,
}

impl ClusterConfig {
    /// Masters only, in placement order, with nothing else set.
    pub(super) fn of_masters(masters: Vec<NodeConfig>) -> ClusterConfig {
        ClusterConfig {
            replicas: vec![Vec::new(); masters.len()],
            masters,
            explicit_replicas: false,
            masters_only: false,
            previous: None,
            previous_distribution: PreviousPlacement::default(),
            replica_health: ReplicaHealth::default(),
            cross_node_transactions: CrossNodeTransactions::default(),
            keyless_scripts: KeylessScripts::default(),
            placement: Placement::default(),
            redis_cluster: false,
        }
    }

    /// What a transaction over keys on several masters does: refused (the default), or one
    /// MULTI/EXEC per master, atomic on each master and not across them.
    pub fn cross_node_transactions(mut self, mode: CrossNodeTransactions) -> ClusterConfig {
        self.cross_node_transactions = mode;
        self
    }

    /// Where a script that declares no key runs: on `node_1` (the default), or on every
    /// master, once each.
    pub fn keyless_scripts(mut self, mode: KeylessScripts) -> ClusterConfig {
        self.keyless_scripts = mode;
        self
    }

    /// Uses masters for reads too.
    pub fn masters_only(mut self, yes: bool) -> ClusterConfig {
        self.masters_only = yes;
        self
    }
}

/// What `previous` says of its own placement: its distribution (built over its masters) and,
/// when it names one, its tag mode. The routing rules are the config's, except before a move
/// into a Redis Cluster, whose `previous` has its own (and always its own tag mode).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PreviousPlacement {
    pub tags: Option<TagMode>,
    pub rules: Option<RoutingRules>,
    pub spec: DistributionSpec,
    pub distribution: Arc<Distribution>,
}

impl ClusterConfig {
    /// How keys were placed on `previous`'s masters: its distribution and tag mode (the
    /// config's tag mode unless it names its own), the config's routing rules. Derived from the
    /// config as it is now, so the Rust builders (`tags`, `routing_rules`) apply to it too.
    pub fn previous_placement(&self) -> Placement {
        let old = &self.previous_distribution;
        let mut placement = self
            .placement
            .with_distribution(old.spec.clone(), (*old.distribution).clone());
        placement.tags = old.tags.unwrap_or(self.placement.tags);
        if let Some(rules) = &old.rules {
            placement.rules = rules.clone();
        }
        placement
    }
}

/// A replica serves reads only while its link to the master is up and it lags at most
/// `max_lag`; checked every `check_interval` in the background (see `health/`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReplicaHealth {
    pub max_lag: Duration,
    pub check_interval: Duration,
}

impl Default for ReplicaHealth {
    fn default() -> ReplicaHealth {
        ReplicaHealth {
            max_lag: DEFAULT_MAX_REPLICA_LAG,
            check_interval: DEFAULT_REPLICA_CHECK_INTERVAL,
        }
    }
}
