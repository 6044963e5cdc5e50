//! One server: a connection (TCP or TLS, AUTH; `connection.rs` over `stream.rs`), a pool of
//! them with the client's per-connection settings (`pool.rs`, `session.rs`), failure isolation
//! (`backoff.rs`), and a direct connection for tools (`direct.rs`).

pub mod backoff;
pub mod connection;
pub mod direct;
pub mod pool;
pub mod session;
pub mod stream;
