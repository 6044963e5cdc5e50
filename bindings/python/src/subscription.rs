//! Pub/sub: the core's `Subscription` behind a lock, waited on without the GIL in short slices
//! so Ctrl-C and a `close()` from another thread are noticed while a listener waits. The
//! asyncio client's engine threads take the same lock (`aio.rs`, through `shared`).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use cluster_core::{ClusterError, PubSubMessage};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::convert::{encode, reply};
use crate::errors::to_pyerr;

/// How long one wait holds the lock before Python gets a chance to run signal handlers.
const WAIT_SLICE: Duration = Duration::from_millis(100);

#[pyclass(module = "rediscluster._core", frozen)]
pub struct Subscription {
    inner: SharedSubscription,
}

/// The core's subscription while it is open, for whichever thread changes or reads it.
pub type SharedSubscription = Arc<Mutex<Option<cluster_core::Subscription>>>;

/// `(type, pattern, channel, data, node)` of one message or confirmation.
pub type Message = (String, Option<Py<PyAny>>, Py<PyAny>, Py<PyAny>, String);

impl Subscription {
    pub fn new(inner: cluster_core::Subscription) -> Subscription {
        Subscription {
            inner: Arc::new(Mutex::new(Some(inner))),
        }
    }

    pub fn shared(&self) -> SharedSubscription {
        Arc::clone(&self.inner)
    }

    fn lock(&self) -> MutexGuard<'_, Option<cluster_core::Subscription>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `change` on the open subscription without the GIL.
    fn change(
        &self,
        py: Python<'_>,
        names: &Bound<'_, PyAny>,
        change: impl FnOnce(&mut cluster_core::Subscription, &[Vec<u8>]) -> Result<(), ClusterError>
        + Send,
    ) -> PyResult<()> {
        let names = names
            .try_iter()?
            .map(|name| encode(&name?))
            .collect::<PyResult<Vec<_>>>()?;
        py.detach(|| match self.lock().as_mut() {
            Some(subscription) => change(subscription, &names),
            None => Err(ClusterError::Command(
                "ERR the subscription is closed".to_owned(),
            )),
        })
        .map_err(|e| to_pyerr(py, e))
    }

    fn names(
        &self,
        py: Python<'_>,
        pick: fn(&cluster_core::Subscription) -> Vec<Vec<u8>>,
    ) -> Vec<Py<PyAny>> {
        self.lock()
            .as_ref()
            .map(pick)
            .unwrap_or_default()
            .iter()
            .map(|name| PyBytes::new(py, name).into_any().unbind())
            .collect()
    }
}

#[pymethods]
impl Subscription {
    /// In a forked child: the subscription's connections are the parent's, so it is leaked,
    /// never closed nor dropped here (closing would shut the parent's sockets down).
    fn forget_after_fork(slf: &Bound<'_, Self>) {
        std::mem::forget(slf.clone().unbind());
    }

    fn subscribe(&self, py: Python<'_>, channels: &Bound<'_, PyAny>) -> PyResult<()> {
        self.change(py, channels, |s, names| s.subscribe(names))
    }

    fn ssubscribe(&self, py: Python<'_>, channels: &Bound<'_, PyAny>) -> PyResult<()> {
        self.change(py, channels, |s, names| s.ssubscribe(names))
    }

    fn psubscribe(&self, py: Python<'_>, patterns: &Bound<'_, PyAny>) -> PyResult<()> {
        self.change(py, patterns, |s, names| s.psubscribe(names))
    }

    /// An empty list unsubscribes from every channel, as redis-py's `unsubscribe()`.
    fn unsubscribe(&self, py: Python<'_>, channels: &Bound<'_, PyAny>) -> PyResult<()> {
        self.change(py, channels, |s, names| s.unsubscribe(names))
    }

    fn sunsubscribe(&self, py: Python<'_>, channels: &Bound<'_, PyAny>) -> PyResult<()> {
        self.change(py, channels, |s, names| s.sunsubscribe(names))
    }

    fn punsubscribe(&self, py: Python<'_>, patterns: &Bound<'_, PyAny>) -> PyResult<()> {
        self.change(py, patterns, |s, names| s.punsubscribe(names))
    }

    fn channels(&self, py: Python<'_>) -> Vec<Py<PyAny>> {
        self.names(py, cluster_core::Subscription::channels)
    }

    fn shard_channels(&self, py: Python<'_>) -> Vec<Py<PyAny>> {
        self.names(py, cluster_core::Subscription::shard_channels)
    }

    fn patterns(&self, py: Python<'_>) -> Vec<Py<PyAny>> {
        self.names(py, cluster_core::Subscription::patterns)
    }

    /// The next message or confirmation from any master, waiting at most `timeout` seconds
    /// (`None`: until one comes); `None` when the time is up or the subscription is closed.
    #[pyo3(signature = (timeout, decode))]
    fn get_message(
        &self,
        py: Python<'_>,
        timeout: Option<f64>,
        decode: bool,
    ) -> PyResult<Option<Message>> {
        let deadline = match timeout {
            Some(seconds) if !(seconds.is_finite() && seconds >= 0.0) => {
                return Err(pyo3::exceptions::PyValueError::new_err(
                    "timeout must be a non-negative number of seconds or None",
                ));
            }
            Some(seconds) => Some(Instant::now() + Duration::from_secs_f64(seconds.min(1e9))),
            None => None,
        };
        loop {
            let slice = match deadline {
                Some(deadline) => deadline
                    .saturating_duration_since(Instant::now())
                    .min(WAIT_SLICE),
                None => WAIT_SLICE,
            };
            let received = py.detach(|| match self.lock().as_mut() {
                Some(subscription) => subscription.next_message(Some(slice)).map(|m| (m, true)),
                None => Ok((None, false)),
            });
            match received.map_err(|e| to_pyerr(py, e))? {
                (Some(message), _) => return message_tuple(py, message, decode).map(Some),
                (None, false) => return Ok(None),
                (None, true) => {}
            }
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Ok(None);
            }
            py.check_signals()?;
        }
    }

    /// Closes the dedicated connections; later calls see a closed subscription.
    fn close(&self, py: Python<'_>) {
        let closed = self.lock().take();
        py.detach(|| drop(closed));
    }
}

pub fn message_tuple(py: Python<'_>, message: PubSubMessage, decode: bool) -> PyResult<Message> {
    let text = |bytes: Vec<u8>| reply(py, cluster_core::Value::BulkString(bytes), decode);
    Ok((
        message.kind,
        message.pattern.map(text).transpose()?,
        text(message.channel)?,
        reply(py, message.data, decode)?,
        message.node,
    ))
}
