//! The seed's dict shape (JSON-like data from Python, PHP or a file), validated as a whole:
//! `{"nodes": {"node_1": {"host": "127.0.0.1", "port": 7000}, ...}, "master_of": {"node_1":
//! "node_4"}, "mastersonly": false, "db": 0}`. Every error names what is wrong and where; none
//! quotes a password.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

use super::checks::{describe, order_masters, port_number, unique_addresses};
use super::distribution;
use super::error::ConfigError;
use super::placement::{self, PLACEMENT_OPTIONS};
use super::redis_cluster;
use super::scripts;
use super::tls::{CertReqs, TlsCache, TlsOptions, TlsSettings};
use super::transactions;
use super::types::{
    ClusterConfig, DEFAULT_CONNECT_TIMEOUT, NodeConfig, PreviousPlacement, ReplicaHealth, Secret,
};

/// Options only the top level takes; it takes the inherited ones too.
const TOP_LEVEL_OPTIONS: [&str; 10 + PLACEMENT_OPTIONS.len()] = [
    PLACEMENT_OPTIONS[0],
    PLACEMENT_OPTIONS[1],
    distribution::OPTION,
    "nodes",
    redis_cluster::OPTION,
    transactions::OPTION,
    scripts::OPTION,
    "master_of",
    "mastersonly",
    "max_replica_lag",
    "replica_check_interval",
    "previous",
];
/// Options only a node takes; it takes the inherited ones too.
const NODE_OPTIONS: [&str; 2 + distribution::NODE_OPTIONS.len()] = [
    "host",
    "port",
    distribution::NODE_OPTIONS[0],
    distribution::NODE_OPTIONS[1],
    distribution::NODE_OPTIONS[2],
];
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

/// Validates a whole config of the seed's shape. `db`, `username`, `password`, the timeouts
/// and the TLS settings may be given at the top level for every node and per node.
pub fn parse(config: &Value) -> Result<ClusterConfig, ConfigError> {
    let top = config
        .as_object()
        .ok_or_else(|| ConfigError::NotAMap(describe(config)))?;
    reject_unknown("the cluster config", top, &TOP_LEVEL_OPTIONS)?;
    let defaults = Defaults::default().overridden_by("the cluster config", top)?;
    if let Some(seeds) = top.get(redis_cluster::OPTION).filter(|v| !v.is_null()) {
        return parse_redis_cluster(top, seeds, &defaults);
    }
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

    let masters = order_masters(
        parsed
            .iter()
            .filter(|(name, _)| !replica_of.contains_key(*name))
            .map(|(name, node)| (name.as_str(), node.clone()))
            .collect(),
    )?;
    if let Some((replica, option)) = replica_of
        .keys()
        .find_map(|r| distribution::node_option_given(&nodes[r]).map(|o| (r, o)))
    {
        return Err(ConfigError::Distribution {
            at: format!("node '{replica}': '{option}'"),
            problem: "a replica is placed with its master: only masters take placement options"
                .to_owned(),
        });
    }
    let mut replicas = vec![Vec::new(); masters.len()];
    for (replica, master) in &replica_of {
        let index = masters
            .iter()
            .position(|m| &m.name == master)
            .expect("validated master");
        replicas[index].push(parsed[replica].clone());
    }
    let placement = placement::parse(top, nodes, &masters)?;
    let previous = match top.get("previous") {
        None | Some(Value::Null) => None,
        Some(old) => {
            placement::refuse_in_previous(old)?;
            placement::previous_names_its_distribution(&placement.spec, old)?;
            Some(parse_previous(config, old, false)?)
        }
    };
    let replica_health = parse_replica_health(top)?;
    let cross_node_transactions = choice(
        top,
        transactions::OPTION,
        transactions::EXPECTED,
        transactions::parse,
    )?;
    let keyless_scripts = choice(top, scripts::OPTION, scripts::EXPECTED, scripts::parse)?;
    let (previous, previous_distribution) = match previous {
        Some((masters, own)) => (Some(masters), own),
        None => (None, Default::default()),
    };
    let config = ClusterConfig {
        masters,
        replicas,
        explicit_replicas,
        masters_only,
        previous,
        previous_distribution,
        replica_health,
        cross_node_transactions,
        keyless_scripts,
        placement,
        redis_cluster: false,
    };
    unique_addresses(&config)?;
    config.check_previous()?;
    Ok(config)
}

/// `previous`, the deployment keys are read from during a move (see `executor/window.rs`):
/// a client-side config without its own `previous`, inheriting the config's credentials,
/// timeouts and TLS. Its masters and its own placement: `whole` when its config describes its
/// placement whole (its own tags and routing rules: a move into a Redis Cluster), else what it
/// says of it beside this config's (a reshard).
fn parse_previous(
    config: &Value,
    old: &Value,
    whole: bool,
) -> Result<(Vec<NodeConfig>, PreviousPlacement), ConfigError> {
    let given = |option: &str| old.get(option).is_some_and(|v| !v.is_null());
    if given("previous") {
        return Err(wrong_type(
            "'previous'",
            "the config before the reshard, without its own 'previous'",
            old,
        ));
    }
    if given(redis_cluster::OPTION) {
        return Err(ConfigError::RedisCluster(
            "'previous' names a Redis Cluster: a live move goes from client-side shards into a Redis Cluster, not from one Redis Cluster to another (move slots with redis-cli --cluster reshard)".to_owned(),
        ));
    }
    let mut old = old.clone();
    if let (Some(old_map), Some(top_map)) = (old.as_object_mut(), config.as_object()) {
        for inherited in INHERITED_OPTIONS {
            if let Some(value) = top_map.get(inherited) {
                old_map.entry(inherited).or_insert_with(|| value.clone());
            }
        }
    }
    let parsed = parse(&old).map_err(|e| match e {
        ConfigError::WrongType { at, expected, got } => ConfigError::WrongType {
            at: format!("'previous' {at}"),
            expected,
            got,
        },
        ConfigError::Distribution { at, problem } => ConfigError::Distribution {
            at: format!("'previous' {at}"),
            problem,
        },
        other => other,
    })?;
    let mut own = placement::previous_distribution(&old, &parsed.placement);
    if whole {
        own.tags = Some(parsed.placement.tags);
        own.rules = Some(parsed.placement.rules.clone());
    }
    Ok((parsed.masters, own))
}

/// A config naming a Redis Cluster: `{"redis_cluster": {"nodes": ["host:port" or URL, ...]}}`
/// with the usual credentials, timeouts and TLS at the top level. The nodes are where the
/// client starts (any reachable one gives the whole map); placement is the cluster's own.
fn parse_redis_cluster(
    top: &Map<String, Value>,
    seeds: &Value,
    defaults: &Defaults,
) -> Result<ClusterConfig, ConfigError> {
    redis_cluster::refuse_options(top)?;
    if defaults.db != 0 {
        return Err(ConfigError::RedisCluster(format!(
            "a Redis Cluster has only database 0, the config asks for {}",
            defaults.db
        )));
    }
    let mut tls_cache = TlsCache::default();
    let masters = redis_cluster::seeds(seeds)?
        .into_iter()
        .map(|seed| match seed {
            redis_cluster::Seed::Url(url) => {
                super::url::parse_url(String::new(), &url, &mut tls_cache).and_then(|mut node| {
                    node.name = node.addr();
                    redis_cluster::only_db_zero(&node)?;
                    Ok(node)
                })
            }
            redis_cluster::Seed::Addr(host, port) => {
                let name = format!("{host}:{port}");
                let settings = serde_json::json!({"host": host, "port": port});
                parse_node(&name, &settings, defaults, &mut tls_cache).map(|mut node| {
                    node.name = node.addr();
                    node
                })
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut config = ClusterConfig::of_masters(masters);
    config.masters_only = optional_bool("the cluster config", top, "mastersonly")?.unwrap_or(false);
    config.redis_cluster = true;
    config.replica_health = parse_replica_health(top)?;
    config.cross_node_transactions = choice(
        top,
        transactions::OPTION,
        transactions::EXPECTED,
        transactions::parse,
    )?;
    config.keyless_scripts = choice(top, scripts::OPTION, scripts::EXPECTED, scripts::parse)?;
    if config.cross_node_transactions != transactions::CrossNodeTransactions::default() {
        return Err(ConfigError::RedisCluster(format!(
            "'{}' does not apply: a Redis Cluster runs a transaction in one slot",
            transactions::OPTION
        )));
    }
    config.placement = redis_cluster::placement();
    if let Some(old) = top.get("previous").filter(|v| !v.is_null()) {
        // The deployment being moved from places and names keys its own way, described whole
        // by its config (tags stripped and crc32 by default, as the contract).
        let (masters, own) = parse_previous(&Value::Object(top.clone()), old, true)?;
        config.previous = Some(masters);
        config.previous_distribution = own;
    }
    unique_addresses(&config)?;
    Ok(config)
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
            out.password = Some(Secret::new(password));
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
            out.tls.cert_reqs = CertReqs::parse(&reqs).ok_or_else(|| ConfigError::Tls {
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
        Some(value) => port_number(name, value.as_i64(), || describe(value))?,
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
        readonly: false,
    })
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

/// A top-level option that takes one of a few words: `parse` reads it (absent or null: its
/// default), anything else is refused with `expected`.
fn choice<T>(
    top: &Map<String, Value>,
    option: &str,
    expected: &'static str,
    parse: fn(Option<&Value>) -> Option<T>,
) -> Result<T, ConfigError> {
    parse(top.get(option)).ok_or_else(|| wrong_type(&format!("'{option}'"), expected, &top[option]))
}

fn wrong_type(at: &str, expected: &'static str, got: &Value) -> ConfigError {
    ConfigError::WrongType {
        at: at.to_owned(),
        expected,
        got: describe(got),
    }
}
