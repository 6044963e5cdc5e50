//! `rediscluster._core`: the Python face of the engine. It only converts: Python arguments to
//! the bytes redis-py would send, replies to the objects redis-py's parser would build, and
//! engine errors to redis-py's exception classes. Routing and everything else is the core's.

use pyo3::prelude::*;

mod client;
mod config;
mod convert;
mod errors;
mod subscription;
mod tools;

#[pymodule]
fn _core(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<client::Core>()?;
    module.add_class::<subscription::Subscription>()?;
    module.add_function(wrap_pyfunction!(client::node_index, module)?)?;
    module.add_function(wrap_pyfunction!(tools::run_tool, module)?)?;
    module.add_function(wrap_pyfunction!(tools::tool_copy, module)?)?;
    module.add_function(wrap_pyfunction!(tools::tool_reshard, module)?)?;
    Ok(())
}
