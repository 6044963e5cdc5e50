//! Persistent engines: `new RedisCluster($cluster, $db, $mastersOnly, ['persistent' => true])`
//! (or a string, phpredis's `persistent_id`) keeps the engine (its connection pools and its
//! replica checks) in the PHP process, so the next request's constructor with the same config
//! finds it and runs at once: nothing to connect, nothing to check.
//!
//! * The key is the whole validated config (nodes, replicas, db, mastersOnly, timeouts,
//!   credentials, TLS) plus the id (`true` is the empty id): any difference gets its own
//!   engine. Passwords are part of the key, kept as the config keeps them (never printed: no
//!   error or debug output here shows a config).
//! * What one request changes on the engine stays for the next (a `select()`, `client('setname')`),
//!   as with phpredis's `pconnect`.
//! * `close()` on a persistent client closes nothing: the engine is shared (phpredis's `close()`
//!   on a `pconnect` connection does nothing either).
//! * Fork: an engine is created by the first constructor that asks for it, in the process that
//!   runs the request. PHP-FPM forks its workers after module start-up, when the registry is
//!   still empty, so each worker builds its own. An engine found here that another process
//!   created (a `pcntl_fork()` after a persistent client was built) is never used nor dropped in
//!   the child (its connections are the parent's, and a lock a parent's thread held at the fork
//!   stays held): it is leaked, and the child builds its own.
//! * Engines live as long as the process; one per distinct config and id.

use std::ops::Deref;
use std::sync::Mutex;

use cluster_core::{Cluster, ClusterConfig, ClusterError};
use ext_php_rs::exception::PhpException;
use ext_php_rs::types::ZendHashTable;

use crate::errors::invalid;

/// A client's engine: its own, or a persistent one shared with other clients of the process.
/// Everything else goes to the `Cluster` (`Deref`).
pub struct Engine {
    cluster: Cluster,
    persistent: bool,
}

impl Deref for Engine {
    type Target = Cluster;

    fn deref(&self) -> &Cluster {
        &self.cluster
    }
}

impl Engine {
    /// The engine's own handle (a shared pointer): what a call works on, so that PHP code its
    /// reply runs may do anything to the client meanwhile.
    pub fn handle(&self) -> Cluster {
        self.cluster.clone()
    }

    /// `close()`: closes the idle pooled connections of the client's own engine; nothing for a
    /// persistent one (others use it, and keeping it is the point).
    pub fn disconnect(&self) {
        if !self.persistent {
            self.cluster.disconnect();
        }
    }
}

/// One persistent engine: the process that built it, its key, the engine.
struct Entry {
    pid: u32,
    id: String,
    config: ClusterConfig,
    cluster: Cluster,
}

static REGISTRY: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

/// The `persistent` constructor option: `None` when absent, `null` or `false`; the id
/// otherwise (`true` is the empty id, a string is itself).
pub fn option(options: &ZendHashTable) -> Result<Option<String>, PhpException> {
    let Some(value) = options.get("persistent").map(|v| v.dereference()) else {
        return Ok(None);
    };
    if value.is_null() {
        return Ok(None);
    }
    if let Some(flag) = value.bool() {
        return Ok(flag.then(String::new));
    }
    if let Some(id) = value.zend_str() {
        return Ok(Some(String::from_utf8_lossy(id.as_bytes()).into_owned()));
    }
    Err(invalid(
        "option 'persistent' must be true, false or a string id (phpredis's persistent_id)",
    ))
}

/// The engine for a validated config: a new one, or with `persistent`, the process's engine
/// for this config and id (built on first use).
pub fn engine(config: ClusterConfig, persistent: Option<String>) -> Result<Engine, ClusterError> {
    let Some(id) = persistent else {
        return Ok(Engine {
            cluster: Cluster::new(config)?,
            persistent: false,
        });
    };
    let pid = std::process::id();
    let mut registry = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
    // Another process's engines (inherited through a fork) are leaked, never used or dropped.
    if registry.iter().any(|entry| entry.pid != pid) {
        for entry in std::mem::take(&mut *registry) {
            if entry.pid == pid {
                registry.push(entry);
            } else {
                std::mem::forget(entry);
            }
        }
    }
    if let Some(entry) = registry
        .iter()
        .find(|entry| entry.id == id && entry.config == config)
    {
        return Ok(Engine {
            cluster: entry.cluster.clone(),
            persistent: true,
        });
    }
    let cluster = Cluster::new(config.clone())?;
    registry.push(Entry {
        pid,
        id,
        config,
        cluster: cluster.clone(),
    });
    Ok(Engine {
        cluster,
        persistent: true,
    })
}
