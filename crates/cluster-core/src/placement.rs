//! Placement, and the only place it lives: which master a key goes to and under which name it
//! is stored. Pure (no I/O).
//!
//! * `contract.rs`: the default, `crc32 % N` with the seed's tag stripping, held by
//!   `tests/vectors/placement.json`; it never changes (it would move users' data).
//! * `chosen.rs`: `Placement`, the value a cluster places every key with, chosen from the
//!   config as a whole; its default is exactly the contract.
//! * `rules.rs`, `tags.rs`: the opt-in parts (`routing_rules`, `tags: "keep"`), held by
//!   `tests/vectors/placement_modes.json`.
//! * `distribution/`: the opt-in `distribution` (elastic slots; RedisArray's, Predis's and
//!   twemproxy's own placements), held by `tests/vectors/distributions.json`, recorded from
//!   the peers themselves.

mod chosen;
mod contract;
pub mod distribution;
pub mod rules;
pub mod tags;

pub use chosen::Placement;
pub use contract::{
    PlacedKey, TaggedKey, crc32, master_index, master_index_for_key, node_name, split_tag,
};
pub use distribution::{Distribution, DistributionSpec, RingNode};
pub use rules::{RoutingRules, RuleError};
pub use tags::{TagMode, cluster_tag};
