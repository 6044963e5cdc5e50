//! `Watch`: the engine's WATCH (one held connection of the watched keys' master) for a
//! Python pipeline. It only converts; what runs where is `cluster_core::Watch`'s.
//!
//! The engine's watch ends with the transaction or UNWATCH (both consume it), so the Python
//! object keeps it in an `Option`: once ended, every call says so. A `Watch` is used by one
//! pipeline, but Python may share that pipeline between threads: a mutex guards it, taken
//! with the GIL released (a thread holding it may be waiting for the server). The asyncio
//! client's engine threads take it too (`aio.rs`), through `Watch::shared`.

use std::sync::{Arc, Mutex, MutexGuard};

use cluster_core::{ClusterError, Value};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::client::{borrowed_commands, command_items, replies_list};
use crate::convert::{borrowed_args, reply};
use crate::signals::detached;

#[pyclass(module = "rediscluster._core", frozen)]
pub struct Watch {
    /// The master holding the watch (`node_k`), kept for after the watch ended.
    node: String,
    watch: SharedWatch,
}

/// The engine's watch, while it lasts, for whichever thread runs a call on it.
pub type SharedWatch = Arc<Mutex<Option<cluster_core::Watch>>>;

impl Watch {
    pub fn new(watch: cluster_core::Watch) -> Watch {
        Watch {
            node: watch.node().to_owned(),
            watch: Arc::new(Mutex::new(Some(watch))),
        }
    }

    pub fn shared(&self) -> SharedWatch {
        Arc::clone(&self.watch)
    }
}

/// The engine's watch, or the error for a watch already ended.
pub fn active(
    watch: &mut Option<cluster_core::Watch>,
) -> Result<&mut cluster_core::Watch, ClusterError> {
    watch.as_mut().ok_or_else(ended)
}

pub fn ended() -> ClusterError {
    ClusterError::Command(
        "ERR this WATCH has ended (EXEC, UNWATCH or reset ran): call watch() again".to_owned(),
    )
}

/// The guard, even if a thread panicked while holding it (the watch's state is then whatever
/// the engine left: its own errors close a connection in doubt).
pub fn lock(
    watch: &Mutex<Option<cluster_core::Watch>>,
) -> MutexGuard<'_, Option<cluster_core::Watch>> {
    watch
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[pymethods]
impl Watch {
    /// The master holding the watch (`node_k`).
    #[getter]
    fn node(&self) -> &str {
        &self.node
    }

    /// Whether the watch still holds its connection (no EXEC, UNWATCH or close yet).
    #[getter]
    fn active(&self, py: Python<'_>) -> bool {
        py.detach(|| lock(&self.watch).is_some())
    }

    /// Watches more keys on the held connection; keys of another master raise CrossNodeError
    /// before anything is sent (the watch goes on).
    fn watch_more(&self, py: Python<'_>, keys: &Bound<'_, PyTuple>) -> PyResult<()> {
        let items: Vec<Bound<'_, PyAny>> = keys.iter().collect();
        let keys = borrowed_args(&items)?;
        detached(py, || active(&mut lock(&self.watch))?.watch_more(&keys))
    }

    /// Runs one command at once on the held connection (redis-py's "immediate mode", between
    /// `watch()` and `multi()`) and returns its reply.
    fn execute(
        &self,
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        decode: bool,
    ) -> PyResult<Py<PyAny>> {
        let items: Vec<Bound<'_, PyAny>> = args.iter().collect();
        let args = borrowed_args(&items)?;
        let value = detached(py, || active(&mut lock(&self.watch))?.execute(&args))?;
        reply(py, value, decode)
    }

    /// MULTI, the commands, EXEC on the held connection: EXEC's replies (an error reply in
    /// place), or `None` when a watched key changed (nothing applied). The watch ends.
    fn transaction(
        &self,
        py: Python<'_>,
        commands: &Bound<'_, PyList>,
        decode: Vec<bool>,
    ) -> PyResult<Py<PyAny>> {
        let items = command_items(commands, &decode)?;
        let commands = borrowed_commands(&items)?;
        let value = detached(py, || {
            let watch = lock(&self.watch).take().ok_or_else(ended)?;
            watch.transaction(&commands)
        })?;
        match value {
            Value::Array(items) => replies_list(py, items.into_iter().map(Ok), decode),
            other => reply(py, other, false),
        }
    }

    /// UNWATCH; the connection goes back to the pool. Nothing to do once the watch ended.
    fn unwatch(&self, py: Python<'_>) -> PyResult<()> {
        detached(py, || match lock(&self.watch).take() {
            Some(watch) => watch.unwatch(),
            None => Ok(()),
        })
    }

    /// Ends the watch without a round trip: its connection is closed, not pooled (the server
    /// forgets the watched keys with it). For a pipeline dropped or reset after an error.
    fn close(&self, py: Python<'_>) {
        py.detach(|| drop(lock(&self.watch).take()));
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let state = if self.active(py) { "active" } else { "ended" };
        format!("Watch({}, {state})", self.node)
    }
}
