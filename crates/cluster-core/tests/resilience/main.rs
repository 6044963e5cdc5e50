//! Reliability and security against real servers: failure isolation and back-off, timeouts
//! with a stopped server, replica health and re-discovery, AUTH/ACL/TLS, one client shared by
//! 16 threads, pooled connections the server closed while they were idle, and waits a caller's
//! signal handler ends. The tests share three ports (`slot::SHARED`) and so take turns.

#[path = "../support/mod.rs"]
mod support;

mod faults;
mod interrupt;
mod replica_health;
mod security;
mod stale;
mod threads;
