//! Reliability and security against real servers: failure isolation and back-off, timeouts
//! with a stopped server, replica health and re-discovery, AUTH/ACL/TLS, and one client
//! shared by 16 threads. The tests share three ports (`slot::SHARED`) and so take turns.

#[path = "../support/mod.rs"]
mod support;

mod faults;
mod replica_health;
mod security;
mod threads;
