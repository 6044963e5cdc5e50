//! `cross_node_transactions`: what a transaction (MULTI/EXEC, a transaction pipeline) whose
//! keys are on several masters does. By default it is refused before anything is sent, naming
//! the nodes. `"per_node"` runs one MULTI/EXEC per master instead: atomic on each master, NOT
//! across masters (another client may see one master's part applied and another's not yet,
//! and a master that fails after others committed leaves their part applied).

use serde_json::Value;

/// The option's name in the dict config.
pub const OPTION: &str = "cross_node_transactions";

/// What the option takes, for the error that refuses anything else.
pub const EXPECTED: &str = "'refuse' (the default: a transaction over several masters is refused) or 'per_node' (one MULTI/EXEC per master: atomic on each master, not across masters)";

/// What a transaction over keys on several masters does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CrossNodeTransactions {
    /// Refused before anything is sent, naming the nodes (`"refuse"`, the default).
    #[default]
    Refuse,
    /// One MULTI/EXEC per master (`"per_node"`): atomic per node, not across nodes.
    PerNode,
}

/// The option's value (absent or null: the default); `None` for anything it does not take.
pub fn parse(value: Option<&Value>) -> Option<CrossNodeTransactions> {
    match value {
        None | Some(Value::Null) => Some(CrossNodeTransactions::Refuse),
        Some(Value::String(mode)) if mode == "refuse" => Some(CrossNodeTransactions::Refuse),
        Some(Value::String(mode)) if mode == "per_node" => Some(CrossNodeTransactions::PerNode),
        Some(_) => None,
    }
}
