//! The PHP extension: `RedisCluster\RedisCluster` (phpredis's conventions) on the rediscluster
//! engine, with `RedisCluster\Exception` and `RedisCluster\ConnectionException`. It only
//! converts: PHP values to command bytes, replies to PHP values, errors to exceptions; every
//! routing decision is the engine's, so a key lands where Rust and Python put it.
#![cfg_attr(windows, feature(abi_vectorcall))]

use ext_php_rs::prelude::*;

mod array;
mod client;
mod config;
mod convert;
mod errors;
mod methods;
mod persistent;

#[php_module]
pub fn get_module(module: ModuleBuilder) -> ModuleBuilder {
    module
        .class::<errors::ClusterException>()
        .class::<errors::ConnectionException>()
        .class::<client::RedisCluster>()
}

/// The engine's own allocations (replies between the socket and their PHP values, packed
/// commands) go through mimalloc rather than glibc's malloc, which cost a fifth of the
/// instructions of an MGET of 1000 keys. PHP values are built by copying into PHP's own
/// allocator, so memory from one allocator is never freed by the other.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
