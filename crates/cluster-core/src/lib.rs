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

// The layers, lowest first; each imports only the ones above it in this list
// (`tools/module_graph.py` checks it, `make lint` runs it).
mod cluster;
pub mod commands;
pub mod config;
mod dispatch;
mod emulate;
pub mod error;
mod executor;
mod handle;
mod health;
pub mod interrupt;
mod merge;
mod node;
mod pipeline;
pub mod placement;
pub mod pubsub;
pub mod router;
pub mod runner;
mod topology;
mod transaction_per_node;
mod watch;
// Public only for `benches/resp_reader.rs`: not part of the API.
#[doc(hidden)]
pub mod wire;

pub use cluster::Cluster;
pub use config::{CertReqs, TlsOptions, TlsSettings};
pub use config::{
    ClusterConfig, ConfigError, CrossNodeTransactions, KeylessScripts, NodeConfig, ReplicaHealth,
    Secret,
};
pub use error::ClusterError;
pub use handle::ClusterConnection;
pub use node::direct::NodeConnection;
pub use pubsub::{PubSubMessage, Subscription};
pub use redis::{ServerError, Value};
/// The move's progress marks (`rediscluster reshard` writes them, clients in the window read
/// them): the key, its lifetime, a name's bucket, a mark's value.
pub mod move_progress {
    pub use crate::topology::progress::{PROGRESS_KEY, PROGRESS_TTL_MS, bucket, parse_mark};
}
pub use watch::Watch;
pub use wire::items::{Element, Elements, Item};
