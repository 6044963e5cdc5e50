//! The PHP extension: `RedisCluster\RedisCluster` (phpredis's conventions) on the rediscluster
//! engine, with `RedisCluster\Exception` and its subclasses. It only converts: PHP values to
//! command bytes, replies to PHP values, errors to phpredis's model; every routing decision is
//! the engine's, so a key lands where Rust and Python put it.
#![cfg_attr(windows, feature(abi_vectorcall))]

use ext_php_rs::prelude::*;

mod args;
mod array;
mod client;
mod codec;
mod compress;
mod config;
mod convert;
mod errors;
mod geo;
mod methods;
mod options;
mod persistent;
mod run;
mod streams;
mod subscribe;

/// MINIT: the exception classes (see `errors.rs` for why they are not `#[php_class]`).
unsafe extern "C" fn startup(_type: i32, _module_number: i32) -> i32 {
    allocator_reuses_purged_pages();
    match errors::register() {
        Ok(()) => 0,
        Err(_) => -1,
    }
}

#[php_module]
pub fn get_module(module: ModuleBuilder) -> ModuleBuilder {
    module
        .startup_function(startup)
        .class::<client::RedisCluster>()
}

/// The engine's own allocations (replies between the socket and their PHP values, packed
/// commands) go through mimalloc rather than glibc's malloc, which cost a fifth of the
/// instructions of an MGET of 1000 keys. PHP values are built by copying into PHP's own
/// allocator, so memory from one allocator is never freed by the other.
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
