//! cluster-core: client-side sharding over independent Redis masters.
//!
//! Keys are placed by `crc32(key) % N` (with `real{tag}` hash tags), exactly as
//! rediscluster-py and rediscluster-php place them. [`Cluster`] routes each command to the
//! master that owns its keys (reads to a replica unless `mastersonly`), and
//! [`Cluster::handle`] gives a `redis::ConnectionLike` so `redis::Commands` works unchanged:
//!
//! ```no_run
//! use redis::Commands;
//! let cluster = cluster_core::Cluster::from_nodes([("node_1", "127.0.0.1:7000"), ("node_2", "127.0.0.1:7001")])?;
//! let mut con = cluster.handle();
//! let _: () = con.set("bar{foo}", 1)?; // stored as "bar" on foo's node
//! assert_eq!(cluster.node_for("foo"), "node_2");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod backoff;
mod batches;
mod cluster;
pub mod commands;
pub mod config;
mod connection;
mod emulate;
pub mod error;
mod handle;
mod health;
mod node_connection;
mod pipeline;
pub mod placement;
mod pool;
pub mod pubsub;
mod reply;
mod resp;
pub mod router;
mod session;
mod tls;
mod topology;

pub use cluster::Cluster;
pub use config::{ClusterConfig, ConfigError, NodeConfig, ReplicaHealth, Secret};
pub use error::ClusterError;
pub use handle::ClusterConnection;
pub use node_connection::NodeConnection;
pub use pubsub::{PubSubMessage, Subscription};
pub use redis::{ServerError, Value};
pub use tls::{CertReqs, TlsOptions, TlsSettings};
