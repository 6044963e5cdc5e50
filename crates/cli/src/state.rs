//! The resume point of a copy: per source node its SCAN cursor (for a move, only whether the
//! source is done counts: it walks again from its first bucket), and the counts so far. Written
//! atomically (a temporary file renamed over the old one) after a batch whose RESTOREs were
//! confirmed, at most every 100 ms (`Job::advance`), so a copy killed at any moment restarts
//! from a batch boundary at most that old: keys after it are copied again (RESTORE ...
//! REPLACE, harmless), none is skipped; a move finds the keys it had not moved yet (those it
//! moved since are no longer there, and its counts leave them out). The file is forced to disk
//! (fsync) at most once a second: a killed process loses nothing more; after a power loss the
//! file may be a second old (the job repeats that second's work, which is safe to repeat) or,
//! on some file systems, unreadable (the job says so: remove the file and run again, repeating
//! everything, which is as safe).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::ToolError;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceProgress {
    /// The SCAN cursor to continue from.
    pub cursor: u64,
    /// The node has been walked to its end.
    pub done: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CopyState {
    /// What is being copied (source and destination addresses, pattern): a state file only
    /// resumes the same job.
    pub job: String,
    /// Progress per source node, by address.
    pub sources: BTreeMap<String, SourceProgress>,
    /// Keys restored on the destination so far.
    pub copied: u64,
    /// Keys that expired (or vanished) between SCAN and DUMP: skipped, not errors.
    pub expired: u64,
    /// Keys that could not be placed or named (left where they are), so far. Absent from
    /// state files written before it was counted.
    #[serde(default)]
    pub unplaceable: u64,
}

fn state_error(path: &Path, message: impl std::fmt::Display) -> ToolError {
    ToolError::State {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

impl CopyState {
    /// The saved state of `job`, or `None` when there is no state file yet.
    pub fn load(path: &Path, job: &str) -> Result<Option<CopyState>, ToolError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(state_error(path, e)),
        };
        let state: CopyState = serde_json::from_str(&text).map_err(|e| state_error(path, e))?;
        if state.job != job {
            return Err(state_error(
                path,
                format!(
                    "it belongs to another copy ({}); remove it or use another --state",
                    state.job
                ),
            ));
        }
        Ok(Some(state))
    }

    /// Writes the state so that a killed process leaves either the old or the new file,
    /// never half; `durable` forces it to disk first, so that a crash of the machine does too.
    pub fn save(&self, path: &Path, durable: bool) -> Result<(), ToolError> {
        let temporary = path.with_extension("tmp");
        let text = serde_json::to_string_pretty(self).map_err(|e| state_error(path, e))?;
        let mut file = std::fs::File::create(&temporary).map_err(|e| state_error(path, e))?;
        file.write_all(text.as_bytes())
            .and_then(|()| if durable { file.sync_all() } else { Ok(()) })
            .map_err(|e| state_error(path, e))?;
        std::fs::rename(&temporary, path).map_err(|e| state_error(path, e))
    }
}
