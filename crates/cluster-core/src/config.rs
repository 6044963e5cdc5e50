//! The cluster configuration: the seed's dict shape (as JSON-like data), a list of URLs, or
//! Rust tuples, validated as a whole before anything connects. Every error names what is wrong
//! and where; none quotes a password.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::placement::node_name;
use crate::tls::{CertReqs, TlsCache, TlsOptions, TlsSettings};

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
    /// `node_1`, ... for masters; the config's own name (or `node_1/replica@host:port` when
    /// discovered) for replicas.
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
}

impl NodeConfig {
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

    /// Settings for a server found through `INFO replication` of this master: same db,
    /// credentials and timeouts, another address.
    pub fn replica_at(&self, host: &str, port: u16) -> NodeConfig {
        let mut replica = self.clone();
        replica.host = host.to_owned();
        replica.port = port;
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
    /// When replicas may serve reads, and how often that is checked.
    pub replica_health: ReplicaHealth,
}

/// A replica serves reads only while its link to the master is up and it lags at most
/// `max_lag`; checked every `check_interval` in the background (see `health.rs`).
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

/// What is wrong with a configuration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("the cluster config must be a map with a 'nodes' entry, got {0}")]
    NotAMap(String),
    #[error(
        "the cluster config has no 'nodes' (expected {{'nodes': {{'node_1': {{'host': ..., 'port': ...}}, ...}}}})"
    )]
    MissingNodes,
    #[error("'nodes' is empty: a cluster needs at least one master")]
    EmptyNodes,
    #[error("{at}: expected {expected}, got {got}")]
    WrongType {
        at: String,
        expected: &'static str,
        got: String,
    },
    #[error("{node}: 'port' must be an integer in 1..65535, got {got}")]
    BadPort { node: String, got: String },
    #[error("{at}: unknown option '{option}' (known: {known})")]
    UnknownOption {
        at: String,
        option: String,
        known: String,
    },
    #[error("masters must be named node_1..node_{count} without gaps; {problem}")]
    MasterNames { count: usize, problem: String },
    #[error("{first} and {second} have the same address {addr}")]
    DuplicateAddress {
        first: String,
        second: String,
        addr: String,
    },
    #[error("'master_of' names {name}, which is not in 'nodes'")]
    UnknownNode { name: String },
    #[error("'master_of': {0}")]
    BadReplicaLayout(String),
    #[error("bad URL {url}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("{at}: {problem}")]
    Tls { at: String, problem: String },
    #[error(
        "'max_replica_lag' ({lag:?}) must be longer than 'replica_check_interval' ({interval:?}): the lag is only known to within one interval"
    )]
    LagBelowInterval { lag: Duration, interval: Duration },
}

/// Options only the top level takes; it takes the inherited ones too.
const TOP_LEVEL_OPTIONS: [&str; 6] = [
    "nodes",
    "master_of",
    "mastersonly",
    "max_replica_lag",
    "replica_check_interval",
    "previous",
];
/// Options only a node takes; it takes the inherited ones too.
const NODE_OPTIONS: [&str; 2] = ["host", "port"];
/// The settings a node inherits from the top level (and the old cluster of `previous` from
/// the new one).
const INHERITED_OPTIONS: [&str; 11] = [
    "db",
    "username",
    "password",
    "socket_timeout",
    "socket_connect_timeout",
    "ssl",
    "ssl_ca_certs",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_cert_reqs",
    "ssl_check_hostname",
];

/// Settings that may be given for the whole cluster and overridden per node.
#[derive(Clone, Debug, Default)]
struct Defaults {
    db: i64,
    username: Option<String>,
    password: Option<Secret>,
    connect_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
    /// `ssl`: TLS on, with `tls` (the `ssl_*` options).
    tls_enabled: bool,
    tls: TlsOptions,
}

impl Defaults {
    /// The node's TLS settings, when TLS is on (built once per distinct options, see
    /// `TlsCache`).
    fn tls_settings(
        &self,
        at: &str,
        cache: &mut TlsCache,
    ) -> Result<Option<TlsSettings>, ConfigError> {
        if !self.tls_enabled {
            return Ok(None);
        }
        cache
            .settings(&self.tls)
            .map(Some)
            .map_err(|problem| ConfigError::Tls {
                at: at.to_owned(),
                problem,
            })
    }
}

impl ClusterConfig {
    /// The seed's dict shape:
    /// `{"nodes": {"node_1": {"host": "127.0.0.1", "port": 7000}, ...}, "master_of": {"node_1":
    /// "node_4"}, "mastersonly": false, "db": 0}`. `db`, `username`, `password`,
    /// `socket_timeout` and `socket_connect_timeout` (seconds) may be given at the top level
    /// for every node and per node.
    pub fn from_value(config: &Value) -> Result<ClusterConfig, ConfigError> {
        let top = config
            .as_object()
            .ok_or_else(|| ConfigError::NotAMap(describe(config)))?;
        reject_unknown("the cluster config", top, &TOP_LEVEL_OPTIONS)?;
        let defaults = Defaults::default().overridden_by("the cluster config", top)?;
        let nodes = match top.get("nodes") {
            None | Some(Value::Null) => return Err(ConfigError::MissingNodes),
            Some(Value::Object(nodes)) => nodes,
            Some(other) => {
                return Err(wrong_type(
                    "'nodes'",
                    "a map of node name to settings",
                    other,
                ));
            }
        };
        if nodes.is_empty() {
            return Err(ConfigError::EmptyNodes);
        }
        let masters_only = match top.get("mastersonly") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => return Err(wrong_type("'mastersonly'", "true or false", other)),
        };

        let mut parsed = BTreeMap::new();
        let mut tls_cache = TlsCache::default();
        for (name, settings) in nodes {
            parsed.insert(
                name.clone(),
                parse_node(name, settings, &defaults, &mut tls_cache)?,
            );
        }
        let replica_of = parse_master_of(top.get("master_of"), &parsed)?;
        let explicit_replicas = top.get("master_of").is_some_and(|v| !v.is_null());

        let master_names: Vec<&String> = parsed
            .keys()
            .filter(|n| !replica_of.contains_key(*n))
            .collect();
        let masters = order_masters(&master_names)?
            .into_iter()
            .map(|name| parsed[name].clone())
            .collect::<Vec<_>>();
        let mut replicas = vec![Vec::new(); masters.len()];
        for (replica, master) in &replica_of {
            let index = masters
                .iter()
                .position(|m| &m.name == master)
                .expect("validated master");
            replicas[index].push(parsed[replica].clone());
        }
        let previous = match top.get("previous") {
            None | Some(Value::Null) => None,
            Some(old) => {
                if old.get("previous").is_some_and(|p| !p.is_null()) {
                    return Err(wrong_type(
                        "'previous'",
                        "the config before the reshard, without its own 'previous'",
                        old,
                    ));
                }
                // The old cluster inherits this config's credentials, timeouts and TLS.
                let mut old = old.clone();
                if let (Some(old_map), Some(top_map)) = (old.as_object_mut(), config.as_object()) {
                    for inherited in INHERITED_OPTIONS {
                        if let Some(value) = top_map.get(inherited) {
                            old_map.entry(inherited).or_insert_with(|| value.clone());
                        }
                    }
                }
                let parsed = ClusterConfig::from_value(&old).map_err(|e| match e {
                    ConfigError::WrongType { at, expected, got } => ConfigError::WrongType {
                        at: format!("'previous' {at}"),
                        expected,
                        got,
                    },
                    other => other,
                })?;
                Some(parsed.masters)
            }
        };
        let replica_health = parse_replica_health(top)?;
        let config = ClusterConfig {
            masters,
            replicas,
            explicit_replicas,
            masters_only,
            previous,
            replica_health,
        };
        config.check_unique_addresses()?;
        Ok(config)
    }

    /// The same, from JSON text.
    pub fn from_json(text: &str) -> Result<ClusterConfig, ConfigError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| ConfigError::NotAMap(format!("invalid JSON ({e})")))?;
        Self::from_value(&value)
    }

    /// Masters from URLs, in placement order (`node_1` first):
    /// `redis://[[user]:password@]host[:port][/db]`.
    pub fn from_urls<S: AsRef<str>>(urls: &[S]) -> Result<ClusterConfig, ConfigError> {
        if urls.is_empty() {
            return Err(ConfigError::EmptyNodes);
        }
        let mut tls_cache = TlsCache::default();
        let masters = urls
            .iter()
            .enumerate()
            .map(|(i, url)| parse_url(node_name(i), url.as_ref(), &mut tls_cache))
            .collect::<Result<Vec<_>, _>>()?;
        let config = ClusterConfig {
            replicas: vec![Vec::new(); masters.len()],
            masters,
            explicit_replicas: false,
            masters_only: false,
            previous: None,
            replica_health: ReplicaHealth::default(),
        };
        config.check_unique_addresses()?;
        Ok(config)
    }

    /// Masters from `(name, "host:port")` pairs; names must be `node_1..node_N`.
    pub fn from_nodes<N: AsRef<str>, A: AsRef<str>>(
        nodes: impl IntoIterator<Item = (N, A)>,
    ) -> Result<ClusterConfig, ConfigError> {
        let mut map = Map::new();
        for (name, addr) in nodes {
            let (name, addr) = (name.as_ref(), addr.as_ref());
            let (host, port) = split_host_port(addr).ok_or_else(|| ConfigError::WrongType {
                at: name.to_owned(),
                expected: "an address host:port",
                got: format!("'{addr}'"),
            })?;
            let port = port_number(
                name,
                &Value::String(port.to_owned()),
                port.parse::<i64>().ok(),
            )?;
            if map.contains_key(name) {
                return Err(ConfigError::MasterNames {
                    count: map.len() + 1,
                    problem: format!("{name} is given twice"),
                });
            }
            map.insert(
                name.to_owned(),
                serde_json::json!({"host": host, "port": port}),
            );
        }
        Self::from_value(&serde_json::json!({ "nodes": map }))
    }

    /// Uses masters for reads too.
    pub fn masters_only(mut self, yes: bool) -> ClusterConfig {
        self.masters_only = yes;
        self
    }

    fn check_unique_addresses(&self) -> Result<(), ConfigError> {
        let mut seen: HashMap<String, &str> = HashMap::new();
        for node in self.masters.iter().chain(self.replicas.iter().flatten()) {
            let addr = node.addr();
            if let Some(first) = seen.insert(addr.clone(), &node.name) {
                return Err(ConfigError::DuplicateAddress {
                    first: first.to_owned(),
                    second: node.name.clone(),
                    addr,
                });
            }
        }
        Ok(())
    }
}

impl Defaults {
    /// These defaults with the options that `settings` gives (top level or one node).
    fn overridden_by(
        &self,
        at: &str,
        settings: &Map<String, Value>,
    ) -> Result<Defaults, ConfigError> {
        let mut out = self.clone();
        if let Some(db) = settings.get("db").filter(|v| !v.is_null()) {
            // `as_i64` refuses floats (1.0 included), text and booleans.
            out.db = db
                .as_i64()
                .filter(|db| *db >= 0)
                .ok_or_else(|| wrong_type(&format!("{at}: 'db'"), "a non-negative integer", db))?;
        }
        if let Some(user) = optional_text(at, settings, "username")? {
            out.username = Some(user);
        }
        if let Some(password) = optional_text(at, settings, "password")? {
            out.password = Some(Secret(password));
        }
        if let Some(t) = optional_seconds(at, settings, "socket_connect_timeout")? {
            out.connect_timeout = Some(t);
        }
        if let Some(t) = optional_seconds(at, settings, "socket_timeout")? {
            out.read_timeout = Some(t);
        }
        if let Some(enabled) = optional_bool(at, settings, "ssl")? {
            out.tls_enabled = enabled;
        }
        if let Some(path) = optional_text(at, settings, "ssl_ca_certs")? {
            out.tls.ca_certs = Some(path);
        }
        if let Some(path) = optional_text(at, settings, "ssl_certfile")? {
            out.tls.certfile = Some(path);
        }
        if let Some(path) = optional_text(at, settings, "ssl_keyfile")? {
            out.tls.keyfile = Some(path);
        }
        if let Some(reqs) = optional_text(at, settings, "ssl_cert_reqs")? {
            out.tls.cert_reqs = cert_reqs(&reqs).ok_or_else(|| ConfigError::Tls {
                at: at.to_owned(),
                problem: format!(
                    "'ssl_cert_reqs' must be 'required', 'optional' or 'none', got '{reqs}'"
                ),
            })?;
        }
        if let Some(check) = optional_bool(at, settings, "ssl_check_hostname")? {
            out.tls.check_hostname = check;
        }
        Ok(out)
    }
}

fn parse_node(
    name: &str,
    settings: &Value,
    defaults: &Defaults,
    cache: &mut TlsCache,
) -> Result<NodeConfig, ConfigError> {
    let at = format!("node '{name}'");
    let map = settings
        .as_object()
        .ok_or_else(|| wrong_type(&at, "a map with 'host' and 'port'", settings))?;
    reject_unknown(&at, map, &NODE_OPTIONS)?;
    let host = match map.get("host") {
        Some(Value::String(host)) if !host.trim().is_empty() => host.trim().to_owned(),
        Some(other) => {
            return Err(wrong_type(
                &format!("{at}: 'host'"),
                "a non-empty host name or IP",
                other,
            ));
        }
        None => {
            return Err(wrong_type(
                &format!("{at}: 'host'"),
                "a non-empty host name or IP",
                &Value::Null,
            ));
        }
    };
    let port = match map.get("port") {
        Some(value) => port_number(name, value, value.as_i64())?,
        None => {
            return Err(ConfigError::BadPort {
                node: name.to_owned(),
                got: "nothing (no 'port')".to_owned(),
            });
        }
    };
    let own = defaults.overridden_by(&at, map)?;
    let tls = own.tls_settings(&at, cache)?;
    Ok(NodeConfig {
        name: name.to_owned(),
        host,
        port,
        db: own.db,
        username: own.username,
        password: own.password,
        connect_timeout: own.connect_timeout.or(Some(DEFAULT_CONNECT_TIMEOUT)),
        read_timeout: own.read_timeout,
        tls,
    })
}

/// A port: an integer (not 7201.5, not "7201", not null or a list) in 1..65535.
fn port_number(node: &str, value: &Value, as_int: Option<i64>) -> Result<u16, ConfigError> {
    match as_int {
        Some(port) if (1..=65535).contains(&port) => Ok(port as u16),
        _ => Err(ConfigError::BadPort {
            node: node.to_owned(),
            got: describe(value),
        }),
    }
}

/// `master_of` → map replica name → master name, checked: masters and replicas are nodes, a
/// replica has one master, a master is not itself a replica.
fn parse_master_of(
    value: Option<&Value>,
    nodes: &BTreeMap<String, NodeConfig>,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut replica_of = BTreeMap::new();
    let map = match value {
        None | Some(Value::Null) => return Ok(replica_of),
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(wrong_type(
                "'master_of'",
                "a map of master name to replica name(s)",
                other,
            ));
        }
    };
    let known = |name: &str| {
        if nodes.contains_key(name) {
            Ok(())
        } else {
            Err(ConfigError::UnknownNode {
                name: name.to_owned(),
            })
        }
    };
    for (master, replicas) in map {
        known(master)?;
        let names: Vec<&str> = match replicas {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) if !many.is_empty() => many
                .iter()
                .map(|v| {
                    v.as_str().ok_or_else(|| {
                        wrong_type(&format!("'master_of' of {master}"), "replica names", v)
                    })
                })
                .collect::<Result<_, _>>()?,
            other => {
                return Err(wrong_type(
                    &format!("'master_of' of {master}"),
                    "a replica name or a list of them",
                    other,
                ));
            }
        };
        for replica in names {
            known(replica)?;
            if replica == master {
                return Err(ConfigError::BadReplicaLayout(format!(
                    "{master} cannot be its own replica"
                )));
            }
            if let Some(other) = replica_of.insert(replica.to_owned(), master.clone()) {
                return Err(ConfigError::BadReplicaLayout(format!(
                    "{replica} is named as a replica of both {other} and {master}"
                )));
            }
        }
    }
    for (replica, master) in &replica_of {
        if replica_of.contains_key(master) {
            return Err(ConfigError::BadReplicaLayout(format!(
                "{replica} replicates {master}, which is itself a replica"
            )));
        }
    }
    Ok(replica_of)
}

/// The masters in placement order, when they are exactly `node_1..node_N`.
fn order_masters<'a>(names: &[&'a String]) -> Result<Vec<&'a String>, ConfigError> {
    let count = names.len();
    let mut slots: Vec<Option<&String>> = vec![None; count];
    for name in names {
        let index = name
            .strip_prefix("node_")
            .filter(|digits| !digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|digits| digits.parse::<usize>().ok())
            .filter(|n| (1..=count).contains(n));
        match index {
            Some(n) => slots[n - 1] = Some(name),
            None => {
                return Err(ConfigError::MasterNames {
                    count,
                    problem: format!("'{name}' is not one of them (name replicas in 'master_of')"),
                });
            }
        }
    }
    // With `count` distinct names all inside 1..=count, every slot is filled.
    Ok(slots
        .into_iter()
        .map(|s| s.expect("every slot filled"))
        .collect())
}

fn parse_url(name: String, url: &str, cache: &mut TlsCache) -> Result<NodeConfig, ConfigError> {
    let bad = |reason: &str| ConfigError::BadUrl {
        url: redact_url(url),
        reason: reason.to_owned(),
    };
    let (tls, rest) = if let Some(rest) = url.strip_prefix("redis://") {
        (false, rest)
    } else if let Some(rest) = url.strip_prefix("rediss://") {
        (true, rest)
    } else {
        return Err(bad(
            "expected redis://[[user]:password@]host[:port][/db] (rediss:// for TLS)",
        ));
    };
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((userinfo, hostport)) => (Some(userinfo), hostport),
        None => (None, authority),
    };
    let (username, password) = match userinfo {
        None => (None, None),
        Some(info) => {
            let (user, password) = info.split_once(':').unwrap_or((info, ""));
            let user = percent_decode(user).ok_or_else(|| bad("bad %-escape in the user name"))?;
            let password =
                percent_decode(password).ok_or_else(|| bad("bad %-escape in the password"))?;
            (
                Some(user).filter(|u| !u.is_empty()),
                Some(password).filter(|p| !p.is_empty()).map(Secret),
            )
        }
    };
    let (host, port) = if hostport.starts_with('[') || hostport.matches(':').count() == 1 {
        split_host_port(hostport).ok_or_else(|| bad("expected host:port"))?
    } else {
        (hostport.to_owned(), "6379".to_owned())
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let port = port_number(&name, &Value::String(port.clone()), port.parse().ok())?;
    let db = if path.is_empty() {
        0
    } else {
        path.parse::<i64>()
            .ok()
            .filter(|db| *db >= 0)
            .ok_or_else(|| bad("the path must be a database number"))?
    };
    // Query parameters: the TLS options, as in the dict (`?ssl_ca_certs=/etc/ca.pem`).
    let mut options = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value).ok_or_else(|| bad("bad %-escape in the query"))?;
        let value = match key {
            "ssl_ca_certs" | "ssl_certfile" | "ssl_keyfile" | "ssl_cert_reqs" => {
                Value::String(value)
            }
            "ssl_check_hostname" => Value::Bool(!matches!(value.as_str(), "false" | "0" | "no")),
            _ => {
                return Err(bad(&format!(
                    "unknown parameter '{key}' (known: ssl_ca_certs, ssl_certfile, ssl_keyfile, \
                     ssl_cert_reqs, ssl_check_hostname)"
                )));
            }
        };
        options.insert(key.to_owned(), value);
    }
    if !options.is_empty() && !tls {
        return Err(bad("TLS parameters need a rediss:// URL"));
    }
    options.insert("ssl".to_owned(), Value::Bool(tls));
    let at = format!("node '{name}'");
    let tls = Defaults::default()
        .overridden_by(&at, &options)?
        .tls_settings(&at, cache)?;
    Ok(NodeConfig {
        name,
        host,
        port,
        db,
        username,
        password,
        connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
        read_timeout: None,
        tls,
    })
}

/// `host:port` or `[v6]:port` → (host, port text).
fn split_host_port(addr: &str) -> Option<(String, String)> {
    if let Some(rest) = addr.strip_prefix('[') {
        let (host, port) = rest.split_once("]:")?;
        return Some((host.to_owned(), port.to_owned()));
    }
    let (host, port) = addr.rsplit_once(':')?;
    Some((host.to_owned(), port.to_owned()))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The URL with any user info replaced, so errors never show a password.
fn redact_url(url: &str) -> String {
    // Everything before the last '@' may be a password (which may itself hold '/', ':' or an
    // unescaped '@'): keep only a scheme that comes before it.
    let Some(at) = url.rfind('@') else {
        return url.to_owned();
    };
    let scheme_end = url.find("://").map(|i| i + 3).filter(|&end| end <= at);
    format!("{}***{}", &url[..scheme_end.unwrap_or(0)], &url[at..])
}

/// Refuses any option that is neither one of `own` nor an inherited setting.
fn reject_unknown(at: &str, map: &Map<String, Value>, own: &[&str]) -> Result<(), ConfigError> {
    let known = || own.iter().chain(&INHERITED_OPTIONS);
    match map.keys().find(|k| !known().any(|o| o == k)) {
        Some(option) => Err(ConfigError::UnknownOption {
            at: at.to_owned(),
            option: option.clone(),
            known: known().copied().collect::<Vec<_>>().join(", "),
        }),
        None => Ok(()),
    }
}

fn optional_text(
    at: &str,
    map: &Map<String, Value>,
    key: &str,
) -> Result<Option<String>, ConfigError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        // Never echo what was given: it may be a password.
        Some(_) => Err(ConfigError::WrongType {
            at: format!("{at}: '{key}'"),
            expected: "text",
            got: "another type".to_owned(),
        }),
    }
}

fn optional_bool(
    at: &str,
    map: &Map<String, Value>,
    key: &str,
) -> Result<Option<bool>, ConfigError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(wrong_type(
            &format!("{at}: '{key}'"),
            "true or false",
            other,
        )),
    }
}

/// redis-py's `ssl_cert_reqs` ("required", "none", or ssl.CERT_* given as text).
fn cert_reqs(text: &str) -> Option<CertReqs> {
    match text.to_ascii_lowercase().as_str() {
        // On a client, "optional" verifies a certificate exactly as "required" does (the
        // server always presents one).
        "required" | "cert_required" | "optional" | "cert_optional" => Some(CertReqs::Required),
        "none" | "cert_none" => Some(CertReqs::None),
        _ => None,
    }
}

/// `max_replica_lag` and `replica_check_interval` (seconds, top level only).
fn parse_replica_health(top: &Map<String, Value>) -> Result<ReplicaHealth, ConfigError> {
    let mut health = ReplicaHealth::default();
    if let Some(lag) = optional_seconds("the cluster config", top, "max_replica_lag")? {
        health.max_lag = lag;
    }
    if let Some(interval) = optional_seconds("the cluster config", top, "replica_check_interval")? {
        health.check_interval = interval;
    }
    if health.max_lag <= health.check_interval {
        return Err(ConfigError::LagBelowInterval {
            lag: health.max_lag,
            interval: health.check_interval,
        });
    }
    Ok(health)
}

fn optional_seconds(
    at: &str,
    map: &Map<String, Value>,
    key: &str,
) -> Result<Option<Duration>, ConfigError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_f64()
            .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e9)
            .map(|s| Some(Duration::from_secs_f64(s)))
            .ok_or_else(|| {
                wrong_type(
                    &format!("{at}: '{key}'"),
                    "a positive number of seconds",
                    value,
                )
            }),
    }
}

fn wrong_type(at: &str, expected: &'static str, got: &Value) -> ConfigError {
    ConfigError::WrongType {
        at: at.to_owned(),
        expected,
        got: describe(got),
    }
}

/// A short description of a value for error messages: its type and, for scalars, the value.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null (None)".to_owned(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() <= 40 => format!("the text '{s}'"),
        Value::String(_) => "a long text".to_owned(),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "a map".to_owned(),
    }
}
