//! What a client sets on "its connection" (AUTH, SELECT, CLIENT SETNAME, CLIENT NO-EVICT), kept for
//! the whole client: a pooled, sharded client has many connections on many servers, so the
//! setting is stored here and every pooled connection takes it on before its next command
//! (each connection remembers which version of the settings it carries; `pool.rs`). A client
//! that never changes them sends nothing extra. The commands that change them are run by
//! `dispatch/session.rs`.

use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::Secret;

/// The settings a connection should carry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionState {
    /// AUTH [username] password (`None`: the credentials of the config).
    pub auth: Option<(Option<Vec<u8>>, Secret)>,
    /// The database (`None`: the node's configured `db`).
    pub db: Option<i64>,
    /// CLIENT SETNAME (`None`: no name).
    pub name: Option<Vec<u8>>,
    /// CLIENT NO-EVICT.
    pub no_evict: bool,
}

impl SessionState {
    /// What a connection has just after connecting: db 0, no name, the config's credentials.
    pub fn fresh_connection() -> SessionState {
        SessionState {
            db: Some(0),
            ..SessionState::default()
        }
    }

    /// The commands that take a connection from `from` to `self`, on a node whose configured
    /// db is `node_db`: only what differs.
    pub fn commands_from(&self, from: &SessionState, node_db: i64) -> Vec<Vec<Vec<u8>>> {
        let mut commands = Vec::new();
        // AUTH first: the server may refuse everything else until it is done.
        if self.auth != from.auth
            && let Some((user, password)) = &self.auth
        {
            let mut auth = vec![b"AUTH".to_vec()];
            auth.extend(user.clone());
            auth.push(password.expose().as_bytes().to_vec());
            commands.push(auth);
        }
        if self.db.unwrap_or(node_db) != from.db.unwrap_or(node_db) {
            let db = self.db.unwrap_or(node_db).to_string().into_bytes();
            commands.push(vec![b"SELECT".to_vec(), db]);
        }
        if self.name != from.name {
            let name = self.name.clone().unwrap_or_default();
            commands.push(vec![b"CLIENT".to_vec(), b"SETNAME".to_vec(), name]);
        }
        if self.no_evict != from.no_evict {
            let flag = if self.no_evict { "on" } else { "off" };
            commands.push(vec![b"CLIENT".to_vec(), b"NO-EVICT".to_vec(), flag.into()]);
        }
        commands
    }
}

/// The client's settings and their version. Version 0 is the default state, which a new
/// connection has without being told anything.
#[derive(Debug, Default)]
pub struct Session {
    state: RwLock<SessionState>,
    version: AtomicU64,
}

impl Session {
    /// The current version, cheap enough for every checkout.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// The settings with their version, read together.
    pub fn snapshot(&self) -> (u64, SessionState) {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        (self.version(), state.clone())
    }

    /// Changes the settings; returns what they were, so a refused change can be put back.
    pub fn update(&self, change: impl FnOnce(&mut SessionState)) -> SessionState {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        let before = state.clone();
        change(&mut state);
        // Always a new version, even for the same settings: every connection re-checks.
        self.version.fetch_add(1, Ordering::AcqRel);
        before
    }
}

#[cfg(test)]
mod tests {
    use super::SessionState;

    #[test]
    fn only_differences_are_sent() {
        let default = SessionState::default();
        assert!(default.commands_from(&default, 3).is_empty());
        let named = SessionState {
            db: Some(3),
            name: Some(b"app".to_vec()),
            ..SessionState::default()
        };
        // db 3 is the node's configured db already: only the name is sent.
        assert_eq!(
            named.commands_from(&default, 3),
            vec![vec![
                b"CLIENT".to_vec(),
                b"SETNAME".to_vec(),
                b"app".to_vec()
            ]]
        );
        assert_eq!(default.commands_from(&named, 0).len(), 2);
        // A new connection is in db 0: it is moved to the configured db, and only then.
        let fresh = SessionState::fresh_connection();
        assert!(default.commands_from(&fresh, 0).is_empty());
        assert_eq!(
            default.commands_from(&fresh, 5),
            vec![vec![b"SELECT".to_vec(), b"5".to_vec()]]
        );
    }
}
