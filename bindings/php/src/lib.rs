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

#[php_module]
pub fn get_module(module: ModuleBuilder) -> ModuleBuilder {
    module
        .class::<errors::ClusterException>()
        .class::<errors::ConnectionException>()
        .class::<client::RedisCluster>()
}
