//! Engine calls made without the GIL that the program's signal handlers can still end, as they
//! end redis-py's blocking `recv`: Ctrl-C stops a BLPOP, and a handler that raises (a timer's:
//! pytest-timeout, rq's job time limit) ends the call with its exception. The engine runs
//! `run_handlers` when a read is interrupted by a signal (see `cluster_core::interrupt`).
//! CPython runs handlers only in its main thread, so only calls made there install it: other
//! threads never take the GIL back in the middle of a call for nothing.
//!
//! A handler runs while the call it interrupted is still in the engine: one that uses the same
//! pipeline under WATCH (its `reset()`) would wait for that call's own lock.

use std::cell::RefCell;
use std::sync::OnceLock;

use cluster_core::ClusterError;
use cluster_core::interrupt;
use pyo3::prelude::*;

use crate::errors::to_pyerr;

thread_local! {
    /// What a signal handler raised during the current call, raised once the call is back.
    static RAISED: RefCell<Option<PyErr>> = const { RefCell::new(None) };
}

/// `threading.main_thread().ident`, read when the module is imported.
static MAIN_THREAD: OnceLock<u64> = OnceLock::new();

/// Remembers which thread is Python's main thread (at import).
pub fn remember_main_thread(py: Python<'_>) -> PyResult<()> {
    let ident: u64 = py
        .import("threading")?
        .call_method0("main_thread")?
        .getattr("ident")?
        .extract()?;
    let _ = MAIN_THREAD.set(ident);
    Ok(())
}

/// Is this Python's main thread? (`threading.get_ident()` is `pthread_self()` on POSIX.)
#[cfg(unix)]
fn on_main_thread() -> bool {
    // SAFETY: pthread_self has no preconditions.
    let this = unsafe { libc::pthread_self() } as u64;
    MAIN_THREAD.get() == Some(&this)
}

#[cfg(not(unix))]
fn on_main_thread() -> bool {
    false
}

/// Runs the pending Python signal handlers; `true` (end the wait) when one raised.
fn run_handlers() -> bool {
    Python::attach(|py| match py.check_signals() {
        Ok(()) => false,
        Err(raised) => {
            RAISED.set(Some(raised));
            true
        }
    })
}

/// Runs `work` with the GIL released and, on the main thread, signal handlers able to end its
/// waits. What a handler raised wins over the call's own outcome (the call was cut short).
pub fn detached<T: Send>(
    py: Python<'_>,
    work: impl Send + FnOnce() -> Result<T, ClusterError>,
) -> PyResult<T> {
    if !on_main_thread() {
        return py.detach(work).map_err(|e| to_pyerr(py, e));
    }
    // Nothing left from a call that ended without coming back here (a panic).
    RAISED.take();
    let result = py.detach(|| interrupt::with_check(run_handlers, work));
    if let Some(raised) = RAISED.take() {
        return Err(raised);
    }
    result.map_err(|e| to_pyerr(py, e))
}
