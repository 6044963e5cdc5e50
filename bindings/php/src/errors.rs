//! The extension's exceptions and phpredis's error model.
//!
//! * `RedisCluster\Exception` (a `RuntimeException`): what cannot be a `false` reply — a bad
//!   argument, a command the sharded cluster refuses, keys that must share a node and do not,
//!   a write applied on some masters only.
//! * `RedisCluster\ConnectionException`: a node could not be reached or timed out (phpredis
//!   throws `RedisException` there).
//! * `RedisCluster\ServerException`: a server's error reply, thrown only when the client opted
//!   in (`OPT_THROW_ERRORS`); otherwise the command returns `false` and the message is kept for
//!   `getLastError()`, as phpredis does.
//!
//! The classes are registered here, not with `#[php_class]`: a `#[php_class]` object is a Rust
//! value PHP allocates through ext-php-rs, which skips PHP's own exception constructor, so the
//! exception had no file, no line and no trace ("thrown in Unknown on line 0") and `new
//! RedisCluster\Exception('...')` was refused. Registered as plain subclasses, they are made by
//! PHP like any `RuntimeException`. Messages are the engine's: they name the node and its
//! `host:port`, never a password.

use std::sync::atomic::{AtomicPtr, Ordering};

use cluster_core::ClusterError;
use ext_php_rs::builders::ClassBuilder;
use ext_php_rs::exception::PhpException;
use ext_php_rs::zend::ClassEntry;

unsafe extern "C" {
    /// SPL's `RuntimeException`, exported by PHP itself (SPL is always built in and starts
    /// before any loaded extension). Looking it up by name does not work here: the class
    /// table of the executor does not exist yet while extensions register their classes.
    static spl_ce_RuntimeException: *mut ClassEntry;
}

/// PHP's `RuntimeException`, the parent of the extension's exceptions.
fn runtime_exception() -> &'static ClassEntry {
    // SAFETY: a pointer PHP sets once at startup and never frees; read only.
    unsafe { spl_ce_RuntimeException.as_ref() }.unwrap_or_else(ext_php_rs::zend::ce::exception)
}

static EXCEPTION: AtomicPtr<ClassEntry> = AtomicPtr::new(std::ptr::null_mut());
static CONNECTION_EXCEPTION: AtomicPtr<ClassEntry> = AtomicPtr::new(std::ptr::null_mut());
static SERVER_EXCEPTION: AtomicPtr<ClassEntry> = AtomicPtr::new(std::ptr::null_mut());

fn class(slot: &AtomicPtr<ClassEntry>) -> &'static ClassEntry {
    // SAFETY: set once by `register` during module startup, to a class entry PHP keeps until
    // the module shuts down; never written again.
    unsafe { slot.load(Ordering::Acquire).as_ref() }.unwrap_or_else(runtime_exception)
}

pub fn exception_class() -> &'static ClassEntry {
    class(&EXCEPTION)
}

fn connection_exception_class() -> &'static ClassEntry {
    class(&CONNECTION_EXCEPTION)
}

fn server_exception_class() -> &'static ClassEntry {
    class(&SERVER_EXCEPTION)
}

/// Registers the three classes; the module's startup function (MINIT) calls it.
pub fn register() -> ext_php_rs::error::Result<()> {
    ClassBuilder::new("RedisCluster\\Exception")
        .extends((runtime_exception, "RuntimeException"))
        .registration(|ce, arg_info| {
            std::mem::forget(arg_info); // no methods: nothing the engine points into
            EXCEPTION.store(ce, Ordering::Release);
        })
        .register()?;
    ClassBuilder::new("RedisCluster\\ConnectionException")
        .extends((exception_class, "RedisCluster\\Exception"))
        .registration(|ce, arg_info| {
            std::mem::forget(arg_info);
            CONNECTION_EXCEPTION.store(ce, Ordering::Release);
        })
        .register()?;
    ClassBuilder::new("RedisCluster\\ServerException")
        .extends((exception_class, "RedisCluster\\Exception"))
        .registration(|ce, arg_info| {
            std::mem::forget(arg_info);
            SERVER_EXCEPTION.store(ce, Ordering::Release);
        })
        .register()?;
    Ok(())
}

/// What a failed command becomes in PHP.
pub enum Failure {
    /// phpredis's `false` (the caller keeps the message for `getLastError()`).
    Reply,
    /// An exception to throw.
    Throw(PhpException),
}

/// phpredis's model: a server's error reply (or an error the engine raises in the server's
/// words, before sending: unknown command, wrong number of arguments) is `false` unless the
/// caller asked for exceptions; everything else throws.
pub fn failure(error: ClusterError, throw_errors: bool) -> Failure {
    match error {
        ClusterError::Server { .. } | ClusterError::Command(_)
            if !throw_errors && !phpredis_throws(&error.to_string()) =>
        {
            Failure::Reply
        }
        ClusterError::Server { .. } | ClusterError::Command(_) => Failure::Throw(
            PhpException::new(error.to_string(), 0, server_exception_class()),
        ),
        other => Failure::Throw(exception(other)),
    }
}

/// A server's error reply as `RedisCluster\ServerException`.
pub fn server_exception(error: ClusterError) -> PhpException {
    PhpException::new(error.to_string(), 0, server_exception_class())
}

/// The error replies phpredis throws for even without being asked to: everything but a
/// command's own failure (`ERR ...`, WRONGTYPE, NOSCRIPT, BUSYGROUP, NOGROUP, NOQUORUM,
/// NOGOODSLAVE) — an authentication or permission failure (`ERR AUTH`, NOAUTH, WRONGPASS,
/// NOPERM), a server LOADING or MASTERDOWN, OOM, ... (phpredis 5.3.7's `redis_error_throw`).
fn phpredis_throws(message: &str) -> bool {
    const RETURNED: &[&str] = &[
        "NOSCRIPT",
        "NOQUORUM",
        "NOGOODSLAVE",
        "WRONGTYPE",
        "BUSYGROUP",
        "NOGROUP",
    ];
    if message.starts_with("ERR") {
        return message.starts_with("ERR AUTH");
    }
    !RETURNED.iter().any(|code| message.starts_with(code))
}

/// The exception for an engine error.
pub fn exception(error: ClusterError) -> PhpException {
    let message = error.to_string();
    let partial_connection = matches!(
        &error,
        ClusterError::Partial { failed, .. } if failed.iter().any(ClusterError::is_connection_failure)
    );
    if error.is_connection_failure() || partial_connection {
        PhpException::new(message, 0, connection_exception_class())
    } else {
        PhpException::new(message, 0, exception_class())
    }
}

/// A bad argument: `RedisCluster\Exception` with the message.
pub fn invalid(message: impl Into<String>) -> PhpException {
    PhpException::new(message.into(), 0, exception_class())
}
