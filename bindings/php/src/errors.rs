//! `RedisCluster\Exception` (a `RuntimeException`) for everything a command can fail with, and
//! its subclass `RedisCluster\ConnectionException` when a node could not be reached or timed
//! out. Messages are the engine's: they name the node and its `host:port`, never a password.

use cluster_core::ClusterError;
use ext_php_rs::exception::PhpException;
use ext_php_rs::prelude::*;
use ext_php_rs::zend::ClassEntry;

unsafe extern "C" {
    /// SPL's `RuntimeException`, exported by PHP itself (SPL is always built in and starts
    /// before any loaded extension). Looking it up by name does not work here: the class
    /// table of the executor does not exist yet while extensions register their classes.
    static spl_ce_RuntimeException: *mut ClassEntry;
}

/// PHP's `RuntimeException`, the parent of the extension's exceptions.
pub fn runtime_exception() -> &'static ClassEntry {
    // SAFETY: a pointer PHP sets once at startup and never frees; read only.
    unsafe { spl_ce_RuntimeException.as_ref() }.unwrap_or_else(ext_php_rs::zend::ce::exception)
}

#[php_class]
#[php(name = "RedisCluster\\Exception")]
#[php(extends(ce = runtime_exception, stub = "\\RuntimeException"))]
#[derive(Default)]
pub struct ClusterException;

#[php_class]
#[php(name = "RedisCluster\\ConnectionException")]
#[php(extends(ClusterException))]
#[derive(Default)]
pub struct ConnectionException;

/// The exception for an engine error.
pub fn exception(error: ClusterError) -> PhpException {
    let message = error.to_string();
    let partial_connection = matches!(
        &error,
        ClusterError::Partial { failed, .. } if failed.iter().any(ClusterError::is_connection_failure)
    );
    if error.is_connection_failure() || partial_connection {
        PhpException::from_class::<ConnectionException>(message)
    } else {
        PhpException::from_class::<ClusterException>(message)
    }
}

/// A bad argument: `RedisCluster\Exception` with the message.
pub fn invalid(message: impl Into<String>) -> PhpException {
    PhpException::from_class::<ClusterException>(message.into())
}
