//! rediscluster's tools, as a library the CLI (and later the Python package) calls: read a
//! cluster config from a file or URLs, say where keys go, describe and check a cluster, and
//! copy a server's (or a cluster's) keys into a cluster, placed by the contract, resumably.

pub mod cfg;
pub mod check;
pub mod cli;
pub mod copy;
pub mod error;
pub mod job;
pub mod nodes;
pub mod reshard;
pub mod state;

pub use error::ToolError;
