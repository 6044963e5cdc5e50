//! `Core`: one cluster, shared by every thread of the Python client. Each call converts its
//! arguments under the GIL, releases the GIL for all network I/O, and converts the reply back.

use cluster_core::{Cluster, ClusterConfig, ClusterError, Elements, Value};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::config::to_json;
use crate::convert::{Arg, borrowed_args, command_args, elements_list, encode, reply};
use crate::errors::to_pyerr;
use crate::signals::detached;
use crate::subscription::Subscription;
use crate::watch::Watch;

#[pyclass(module = "rediscluster._core", frozen)]
pub struct Core {
    cluster: Cluster,
}

/// How long a new client waits for its first replica check (a check that takes longer goes on
/// in the background; until it ends, reads go to the masters).
const FIRST_CHECK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// `(name, host, port)` of a node.
type NodeAddress = (String, String, u16);

#[pymethods]
impl Core {
    /// Validates the whole config (the seed's dict shape) before anything connects, then asks
    /// each master for its replicas unless `master_of` or `mastersonly` says otherwise. The
    /// engine checks replicas in the background; a Python client is long-lived, so it waits
    /// for that first check (as it always did) and reads from replicas from its first call.
    #[new]
    fn new(py: Python<'_>, config: &Bound<'_, PyAny>) -> PyResult<Core> {
        let json = to_json(config)?;
        let config =
            ClusterConfig::from_value(&json).map_err(|e| to_pyerr(py, ClusterError::Config(e)))?;
        let cluster = detached(py, || {
            let cluster = Cluster::new(config)?;
            cluster.wait_for_replica_check(FIRST_CHECK_WAIT);
            Ok(cluster)
        })?;
        Ok(Core { cluster })
    }

    /// The same client for a forked child process: same config and connection settings, new
    /// connections and background checks. The parent's engine is leaked in the child, never
    /// dropped: its connections are the parent's, and a lock one of the parent's threads held
    /// at the fork would never be released here.
    fn reopen_after_fork(&self, py: Python<'_>) -> PyResult<Core> {
        std::mem::forget(self.cluster.clone());
        let cluster = detached(py, || self.cluster.reopened())?;
        Ok(Core { cluster })
    }

    /// Runs one command (a tuple of arguments) where it belongs and returns its reply.
    fn execute(
        &self,
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        decode: bool,
    ) -> PyResult<Py<PyAny>> {
        let items: Vec<Bound<'_, PyAny>> = args.iter().collect();
        let args = borrowed_args(&items)?;
        // A split read (MGET) hands its values over one by one, gathered without the GIL.
        let mut elements = Elements::new(args.len().saturating_sub(1));
        let answered = detached(py, || {
            self.cluster
                .execute_items(&args, &mut |at, item| elements.put(at, item))
        })?;
        match answered {
            Some(value) => reply(py, value, decode),
            None => elements_list(py, elements, decode),
        }
    }

    /// Runs one command on the named master, as is (no routing, no tag stripping).
    fn execute_on(
        &self,
        py: Python<'_>,
        node: &str,
        args: &Bound<'_, PyTuple>,
        decode: bool,
    ) -> PyResult<Py<PyAny>> {
        let args = command_args(args.as_any())?;
        let value = detached(py, || self.cluster.execute_on(node, &args))?;
        reply(py, value, decode)
    }

    /// Runs a list of commands as a pipeline: one reply per command, an error (reply or
    /// failed node) in place as an exception instance. A malformed command raises before
    /// anything is sent. `decode[i]` says whether command i's reply is decoded.
    fn pipeline(
        &self,
        py: Python<'_>,
        commands: &Bound<'_, PyList>,
        decode: Vec<bool>,
    ) -> PyResult<Py<PyAny>> {
        let items = command_items(commands, &decode)?;
        let commands = borrowed_commands(&items)?;
        let replies = detached(py, || self.cluster.pipeline(&commands))?;
        replies_list(py, replies, decode)
    }

    /// Runs the commands in MULTI/EXEC on the one master that owns all their keys: EXEC's
    /// replies (an error reply of a command in place), or `None` when EXEC answered nil.
    fn transaction(
        &self,
        py: Python<'_>,
        commands: &Bound<'_, PyList>,
        decode: Vec<bool>,
    ) -> PyResult<Py<PyAny>> {
        let items = command_items(commands, &decode)?;
        let commands = borrowed_commands(&items)?;
        let value = detached(py, || self.cluster.transaction(&commands))?;
        match value {
            Value::Array(items) => replies_list(py, items.into_iter().map(Ok), decode),
            other => reply(py, other, false),
        }
    }

    /// WATCH on one held connection of the master that owns every key (keys on several
    /// masters: CrossNodeError, nothing sent), for a pipeline's optimistic transaction.
    fn watch(&self, py: Python<'_>, keys: &Bound<'_, PyTuple>) -> PyResult<Watch> {
        let items: Vec<Bound<'_, PyAny>> = keys.iter().collect();
        let keys = borrowed_args(&items)?;
        detached(py, || self.cluster.watch(&keys)).map(Watch::new)
    }

    /// The master a key belongs to (`node_k`), hash tags honoured; the key is encoded as a
    /// command argument would be.
    fn node_for(&self, key: &Bound<'_, PyAny>) -> PyResult<String> {
        Ok(self.cluster.node_for(encode(key)?).to_owned())
    }

    /// Every master in placement order.
    fn masters(&self, py: Python<'_>) -> Vec<NodeAddress> {
        // On a Redis Cluster this may read the map from a server: without the GIL.
        let masters = py.detach(|| {
            let masters = self.cluster.masters();
            masters.into_iter().cloned().collect::<Vec<_>>()
        });
        masters.iter().map(address).collect()
    }

    /// The replicas known now for a master.
    fn replicas(&self, node: &str) -> Vec<NodeAddress> {
        self.cluster.replicas_of(node).iter().map(address).collect()
    }

    /// Asks every master for its replicas again.
    fn discover_replicas(&self, py: Python<'_>) -> PyResult<()> {
        detached(py, || self.cluster.discover_replicas())
    }

    /// A new, empty pub/sub subscription.
    fn subscription(&self) -> Subscription {
        Subscription::new(self.cluster.subscription())
    }

    /// Closes the idle connections; the next call reconnects.
    fn disconnect(&self, py: Python<'_>) {
        py.detach(|| self.cluster.disconnect());
    }

    fn __repr__(&self) -> String {
        let masters: Vec<String> = self
            .cluster
            .masters()
            .into_iter()
            .map(|node| format!("{}={}", node.name, node.addr()))
            .collect();
        format!("Core({})", masters.join(", "))
    }
}

/// Which of `masters` masters a key belongs to (0-based), from the placement contract alone.
#[pyfunction]
pub fn node_index(key: &Bound<'_, PyAny>, masters: usize) -> PyResult<usize> {
    if masters == 0 {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "a cluster needs at least one master",
        ));
    }
    Ok(cluster_core::placement::master_index_for_key(
        &encode(key)?,
        masters,
    ))
}

impl Core {
    /// The engine, for the asyncio runner that shares it.
    pub(crate) fn cluster(&self) -> &Cluster {
        &self.cluster
    }
}

fn address(node: impl std::borrow::Borrow<cluster_core::NodeConfig>) -> NodeAddress {
    let node = node.borrow();
    (node.name.clone(), node.host.clone(), node.port)
}

/// Each command's argument objects, checked against one decode flag per command. They are
/// kept alive here so that their bytes can be borrowed, not copied, while the GIL is released.
pub(crate) fn command_items<'py>(
    commands: &Bound<'py, PyList>,
    decode: &[bool],
) -> PyResult<Vec<Vec<Bound<'py, PyAny>>>> {
    if commands.len() != decode.len() {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "{} commands but {} decode flags",
            commands.len(),
            decode.len()
        )));
    }
    commands
        .iter()
        .map(|args| match args.cast::<PyTuple>() {
            // A tuple (what the pipelines queue) is read by index: no iterator object.
            Ok(tuple) => Ok(tuple.iter().collect()),
            Err(_) => args.try_iter()?.collect(),
        })
        .collect()
}

pub(crate) fn borrowed_commands<'a>(
    items: &'a [Vec<Bound<'_, PyAny>>],
) -> PyResult<Vec<Vec<Arg<'a>>>> {
    items.iter().map(|args| borrowed_args(args)).collect()
}

/// Replies in order as a list, reply i decoded if `decode[i]` (not past the flags), a
/// command's failure in its place as an exception instance.
pub(crate) fn replies_list(
    py: Python<'_>,
    replies: impl IntoIterator<Item = Result<Value, ClusterError>>,
    decode: Vec<bool>,
) -> PyResult<Py<PyAny>> {
    let mut flags = decode.into_iter().chain(std::iter::repeat(false));
    let converted = replies
        .into_iter()
        .map(|result| {
            let decode = flags.next().unwrap_or(false);
            match result {
                Ok(value) => reply(py, value, decode),
                Err(error) => Ok(to_pyerr(py, error).into_value(py).into_any()),
            }
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok(PyList::new(py, converted)?.into_any().unbind())
}
