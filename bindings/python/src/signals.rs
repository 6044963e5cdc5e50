//! Engine calls made without the GIL that the program's signal handlers can still end, as they
//! end redis-py's blocking `recv`: Ctrl-C stops a BLPOP, and a handler that raises (a timer's:
//! pytest-timeout, rq's job time limit) ends the call with its exception. The engine runs
//! `run_handlers` when a read is interrupted by a signal (see `cluster_core::interrupt`);
//! CPython's handlers run only in the main thread, so elsewhere it never ends a wait.

use std::cell::RefCell;

use cluster_core::ClusterError;
use cluster_core::interrupt;
use pyo3::prelude::*;

use crate::errors::to_pyerr;

thread_local! {
    /// What a signal handler raised during the current call, raised once the call is back.
    static RAISED: RefCell<Option<PyErr>> = const { RefCell::new(None) };
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

/// Runs `work` with the GIL released and signal handlers able to end its waits. What a
/// handler raised wins over the call's own outcome (the call was cut short by it).
pub fn detached<T: Send>(
    py: Python<'_>,
    work: impl Send + FnOnce() -> Result<T, ClusterError>,
) -> PyResult<T> {
    let result = py.detach(|| interrupt::with_check(run_handlers, work));
    if let Some(raised) = RAISED.take() {
        return Err(raised);
    }
    result.map_err(|e| to_pyerr(py, e))
}
