//! `rediscluster._core`: the Python face of the engine. It only converts: Python arguments to
//! the bytes redis-py would send, replies to the objects redis-py's parser would build, and
//! engine errors to redis-py's exception classes. Routing and everything else is the core's.

use pyo3::prelude::*;

mod aio;
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
    allocator_reuses_purged_pages();
    signals::remember_main_thread(module.py())?;
    module.add_class::<client::Core>()?;
    module.add_class::<aio::AsyncCore>()?;
    module.add_class::<subscription::Subscription>()?;
    module.add_class::<watch::Watch>()?;
    module.add_function(wrap_pyfunction!(client::node_index, module)?)?;
    module.add_function(wrap_pyfunction!(tools::run_tool, module)?)?;
    module.add_function(wrap_pyfunction!(tools::tool_copy, module)?)?;
    module.add_function(wrap_pyfunction!(tools::tool_reshard, module)?)?;
    module.add_function(wrap_pyfunction!(tools::tool_plan, module)?)?;
    module.add_function(wrap_pyfunction!(tools::tool_grow, module)?)?;
    Ok(())
}

/// The engine's own allocations (a reply's values between the socket and their Python
/// objects, packed commands) go through mimalloc: glibc's malloc and free were a fifth of the
/// instructions of an MGET of 1000 keys. Nothing allocated here is freed by Python or the
/// other way round (Python objects are built by copying), so two allocators never meet.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc gives memory it no longer uses back to the OS soon after it was freed
/// (`purge_delay`), by default with MADV_DONTNEED: the next large reply or pipeline then takes a
/// page fault per 4 KiB page, each zeroed by the kernel. On this 2-core VM that made a
/// 10k-command pipeline take 5.2 µs per command instead of 2.3 (`make bench-python`, where
/// seconds pass between two runs). Purging by reset (MADV_FREE) instead still lets the OS take
/// the pages back under memory pressure (until then they count in RSS), and costs nothing when
/// they are reused first. Set as the default only: `MIMALLOC_PURGE_DECOMMITS=1` still wins.
fn allocator_reuses_purged_pages() {
    // mimalloc's `mi_option_purge_decommits` (5 in the stable option numbering of v2 and v3;
    // libmimalloc-sys names no constant for it).
    const MI_OPTION_PURGE_DECOMMITS: libmimalloc_sys::mi_option_t = 5;
    // SAFETY: sets one option's default value, once, while the module loads (before the
    // engine starts any thread of its own); mimalloc reads it at each purge.
    unsafe { libmimalloc_sys::mi_option_set_default(MI_OPTION_PURGE_DECOMMITS, 0) }
}
