//! rediscluster's tools, as a library the `rediscluster` binary and the Python package
//! (`rediscluster.tools`, the console script) call: read a cluster config from a file or URLs,
//! say where keys go, describe and check a cluster, and copy or reshard keys into a cluster,
//! placed by the contract, resumably.

pub mod cfg;
pub mod check;
pub mod cli;
pub mod cluster_names;
pub mod copy;
pub mod error;
pub mod grow;
pub mod job;
pub mod marks;
pub mod nodes;
pub mod plan;
pub mod readahead;
pub mod reshard;
pub mod state;
pub mod writes;

pub use error::ToolError;
