//! The connection-setting commands (AUTH, SELECT, CLIENT SETNAME/GETNAME/NO-EVICT, RESET,
//! QUIT), run for the whole client: the setting is kept in the session (`node/session.rs`)
//! and first taken by one connection of every master, without sending any other command (so a
//! value a server refuses is reported now, and the setting is put back); the other connections
//! take it before their next command.

use redis::Value;

use crate::commands::SessionCommand;
use crate::config::Secret;
use crate::error::ClusterError;
use crate::executor::Executor;
use crate::node::session::SessionState;

pub fn run<A: AsRef<[u8]>>(
    executor: &Executor,
    command: SessionCommand,
    args: &[A],
) -> Result<Value, ClusterError> {
    let session = &executor.topology().session;
    let value = args[args.len() - 1].as_ref();
    let before = match command {
        SessionCommand::GetName => {
            let (_, state) = session.snapshot();
            return Ok(state.name.map_or(Value::Nil, Value::BulkString));
        }
        SessionCommand::Quit => {
            executor.disconnect();
            return Ok(Value::Okay);
        }
        SessionCommand::Reset => {
            session.update(|state| *state = SessionState::default());
            // Whatever else a connection carried (tracking, a paused reply mode) goes too.
            executor.disconnect();
            return Ok(Value::SimpleString("RESET".to_owned()));
        }
        SessionCommand::Auth => {
            let password = Secret::new(String::from_utf8_lossy(value).into_owned());
            let user = (args.len() == 3).then(|| args[1].as_ref().to_vec());
            session.update(|state| state.auth = Some((user, password)))
        }
        SessionCommand::Select => {
            let db: i64 = std::str::from_utf8(value)
                .ok()
                .and_then(|t| t.parse().ok())
                .ok_or_else(|| {
                    ClusterError::Command("ERR value is not an integer or out of range".to_owned())
                })?;
            session.update(|state| state.db = Some(db))
        }
        SessionCommand::SetName => {
            let name = (!value.is_empty()).then(|| value.to_vec());
            session.update(|state| state.name = name)
        }
        SessionCommand::NoEvict => {
            let on = if value.eq_ignore_ascii_case(b"on") {
                true
            } else if value.eq_ignore_ascii_case(b"off") {
                false
            } else {
                return Err(ClusterError::Command("ERR syntax error".to_owned()));
            };
            session.update(|state| state.no_evict = on)
        }
    };
    if let Err(error) = executor.refresh_masters() {
        session.update(|state| *state = before);
        return Err(error);
    }
    Ok(Value::Okay)
}
