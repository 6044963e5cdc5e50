//! `rediscluster._core`: the Python face of the engine. It only converts: Python arguments to
//! the bytes redis-py would send, replies to the objects redis-py's parser would build, and
//! engine errors to redis-py's exception classes. Routing and everything else is the core's.

use pyo3::prelude::*;

mod client;
mod config;
mod convert;
mod errors;
mod signals;
mod subscription;
mod tools;
mod watch;

#[pymodule]
fn _core(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<client::Core>()?;
    module.add_class::<subscription::Subscription>()?;
    module.add_class::<watch::Watch>()?;
    module.add_function(wrap_pyfunction!(client::node_index, module)?)?;
    module.add_function(wrap_pyfunction!(tools::run_tool, module)?)?;
    module.add_function(wrap_pyfunction!(tools::tool_copy, module)?)?;
    module.add_function(wrap_pyfunction!(tools::tool_reshard, module)?)?;
    Ok(())
}

/// The engine's own allocations (a reply's values between the socket and their Python
/// objects, packed commands) go through mimalloc: glibc's malloc and free were a fifth of the
/// instructions of an MGET of 1000 keys. Nothing allocated here is freed by Python or the
/// other way round (Python objects are built by copying), so two allocators never meet.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
