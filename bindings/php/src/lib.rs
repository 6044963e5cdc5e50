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
