//! Engine errors as redis-py's exceptions. Server error replies go through redis-py's own
//! parser (`BaseParser.parse_error`), so `NOSCRIPT`, `READONLY`, `WRONGPASS`... become the
//! classes redis-py users catch; the cluster's own refusals are the classes in
//! `rediscluster.exceptions`. Messages name the node and `host:port`, never a password.

use cluster_core::ClusterError;
use pyo3::prelude::*;
use pyo3::types::PyList;

fn class<'py>(py: Python<'py>, module: &str, name: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import(module)?.getattr(name)
}

fn raise(py: Python<'_>, module: &str, name: &str, message: String) -> PyErr {
    match class(py, module, name).and_then(|class| class.call1((message,))) {
        Ok(instance) => PyErr::from_value(instance),
        Err(import_failed) => import_failed,
    }
}

/// redis-py's `DataError`.
pub fn data_error(message: &str) -> PyErr {
    Python::attach(|py| raise(py, "redis.exceptions", "DataError", message.to_owned()))
}

/// redis-py's `ConnectionError`.
pub fn connection_error(message: &str) -> PyErr {
    Python::attach(|py| {
        raise(
            py,
            "redis.exceptions",
            "ConnectionError",
            message.to_owned(),
        )
    })
}

/// What redis-py says when `Encoder.encode` gets a type it does not send.
pub fn invalid_input(type_name: &str) -> PyErr {
    data_error(&format!(
        "Invalid input of type: '{type_name}'. Convert to a bytes, string, int or float first."
    ))
}

/// `CODE detail`, the line the server sent.
pub fn server_text(error: &cluster_core::ServerError) -> String {
    match error.details() {
        Some(detail) => format!("{} {detail}", error.code()),
        None => error.code().to_owned(),
    }
}

/// The exception redis-py's parser makes of an error reply (an instance, not raised).
pub fn server_error_object(py: Python<'_>, text: &str) -> PyResult<Py<PyAny>> {
    Ok(class(py, "redis._parsers.base", "BaseParser")?
        .call_method1("parse_error", (text,))?
        .unbind())
}

/// Any engine error as the Python exception to raise.
pub fn to_pyerr(py: Python<'_>, error: ClusterError) -> PyErr {
    match convert(py, error) {
        Ok(err) | Err(err) => err,
    }
}

fn convert(py: Python<'_>, error: ClusterError) -> PyResult<PyErr> {
    const OURS: &str = "rediscluster.exceptions";
    let message = error.to_string();
    Ok(match error {
        ClusterError::Config(_) => raise(py, OURS, "ClusterConfigError", message),
        ClusterError::Connection { .. } => {
            raise(py, "redis.exceptions", "ConnectionError", message)
        }
        ClusterError::Timeout { .. } => raise(py, "redis.exceptions", "TimeoutError", message),
        // Only reached when the handler's own exception was lost (see `signals`).
        ClusterError::Interrupted { .. } => pyo3::exceptions::PyInterruptedError::new_err(message),
        ClusterError::Server { .. } | ClusterError::Command(_) => {
            PyErr::from_value(server_error_object(py, &message)?.into_bound(py))
        }
        ClusterError::CrossNode { .. } => raise(py, OURS, "CrossNodeError", message),
        ClusterError::Refused { .. } => raise(py, OURS, "CommandNotSupportedError", message),
        ClusterError::Partial {
            failed, applied, ..
        } => {
            // A ConnectionError too when a node could not be reached, so `except
            // ConnectionError` still catches an MSET that lost a node halfway.
            let name = if failed.iter().any(ClusterError::is_connection_failure) {
                "PartialConnectionError"
            } else {
                "PartialWriteError"
            };
            let causes = failed
                .into_iter()
                .map(|cause| to_pyerr(py, cause).into_value(py))
                .collect::<Vec<_>>();
            class(py, OURS, name)?
                .call1((message, PyList::new(py, causes)?, applied))
                .map(PyErr::from_value)?
        }
    })
}

/// A migration tool's error: bad input is `ClusterConfigError`, a node's failure redis-py's
/// `ConnectionError` (the message names the node and its address).
pub fn tool_error(py: Python<'_>, error: rediscluster_tools::ToolError) -> PyErr {
    use rediscluster_tools::ToolError;
    let message = error.to_string();
    match error {
        ToolError::Node { .. } | ToolError::Cluster(_) => {
            raise(py, "redis.exceptions", "ConnectionError", message)
        }
        ToolError::Worker(_) => raise(py, "redis.exceptions", "RedisError", message),
        ToolError::Config(_) | ToolError::State { .. } => {
            raise(py, "rediscluster.exceptions", "ClusterConfigError", message)
        }
    }
}
