//! `keyless_scripts`: where a script that declares no key runs (EVAL, EVALSHA, FCALL and their
//! `_RO` forms with `numkeys` 0). By default on one master (`node_1`): a script with no key is
//! one server's business, as on a single Redis. `"every_master"` runs it on every master
//! instead, for scripts that work on the whole keyspace (python-redis-lock's `reset_all`: `KEYS
//! lock:*` then a DEL of each), whose work a sharded keyspace spreads over every master. The
//! replies combine as a fan-out's do (`FanOutMerge::Combined`); the script runs once per master,
//! atomic on each, not across them.

use serde_json::Value;

/// The option's name in the dict config.
pub const OPTION: &str = "keyless_scripts";

/// What the option takes, for the error that refuses anything else.
pub const EXPECTED: &str = "'one_master' (the default: a script that declares no key runs on node_1) or 'every_master' (it runs on every master, once each; integer replies are added up, array replies concatenated)";

/// Where a script that declares no key runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KeylessScripts {
    /// On the first master, `node_1` (`"one_master"`, the default).
    #[default]
    OneMaster,
    /// On every master, once each (`"every_master"`).
    EveryMaster,
}

/// The option's value (absent or null: the default); `None` for anything it does not take.
pub fn parse(value: Option<&Value>) -> Option<KeylessScripts> {
    match value {
        None | Some(Value::Null) => Some(KeylessScripts::OneMaster),
        Some(Value::String(mode)) if mode == "one_master" => Some(KeylessScripts::OneMaster),
        Some(Value::String(mode)) if mode == "every_master" => Some(KeylessScripts::EveryMaster),
        Some(_) => None,
    }
}
