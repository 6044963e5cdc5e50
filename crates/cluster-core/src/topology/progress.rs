//! How far a move has got, as the mover publishes it for the clients in the window.
//!
//! `rediscluster reshard` moves each old master's keys in the order of their *bucket* (the
//! CRC16 slot of the name the key is stored under there, `bucket`), and after a confirmed
//! batch (at most every 20 ms) writes on that old master, under `PROGRESS_KEY`, the bucket
//! below which the master no longer holds a key that moves: every such key was restored on
//! its new master and deleted here, and none comes back, since in the window writes go to the
//! new masters. A key that stays behind (one the tool cannot place) holds the mark at its
//! bucket.
//!
//! A client in the window reads the mark (`executor/progress.rs`) and then knows, per key,
//! whether the old master can still have it: below the mark it cannot (reads and writes skip
//! the old master: one server, as outside the window); at or above it the key is most likely
//! still there (reads ask the old master first). The mark only ever rises during a move, so a
//! client that read it a moment ago is behind, never wrong. No mark (no tool publishing it, or
//! it expired after the tool stopped) means unknown: reads ask both masters at once, as before.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::placement::distribution::{SLOTS, slot_of};

/// The key, on each old master, that holds its mark (a decimal bucket, 0..=16384).
pub const PROGRESS_KEY: &[u8] = b"rediscluster:move:done-below";

/// How long a published mark lives unless the mover writes it again: a mover killed and not
/// resumed leaves no mark behind for a later, unrelated move to be misled by.
pub const PROGRESS_TTL_MS: u64 = 30_000;

/// No mark read (yet, or any more).
const UNKNOWN: u32 = u32::MAX;

/// A name's bucket: the order the mover takes keys in, the same in the tool and every client.
/// A hash of the stored name independent of `crc32`, so an old master's keys spread over every
/// bucket.
pub fn bucket(stored: &[u8]) -> u32 {
    slot_of(stored) as u32
}

/// A mark as the tool writes it (its value under `PROGRESS_KEY`), if it is one.
pub fn parse_mark(value: &[u8]) -> Option<u32> {
    let mark: u32 = std::str::from_utf8(value).ok()?.parse().ok()?;
    (mark as usize <= SLOTS).then_some(mark)
}

/// The last mark read from each old master.
pub struct MoveProgress {
    marks: Vec<AtomicU32>,
}

impl MoveProgress {
    pub fn new(old_masters: usize) -> MoveProgress {
        MoveProgress {
            marks: (0..old_masters).map(|_| AtomicU32::new(UNKNOWN)).collect(),
        }
    }

    /// What the poller read from old master `old`: its mark, or `None` for none there.
    pub fn set(&self, old: usize, mark: Option<u32>) {
        self.marks[old].store(mark.unwrap_or(UNKNOWN), Ordering::Relaxed);
    }

    fn mark(&self, old: usize) -> Option<u32> {
        Some(self.marks[old].load(Ordering::Relaxed)).filter(|&m| m != UNKNOWN)
    }

    /// Has old master `old` published that it holds no key of `stored`'s bucket any more?
    pub fn moved_past(&self, old: usize, stored: &[u8]) -> bool {
        self.mark(old).is_some_and(|mark| bucket(stored) < mark)
    }

    /// Does old master `old` publish a mark (a mover is at work on it)?
    pub fn known(&self, old: usize) -> bool {
        self.mark(old).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_is_a_bucket_or_the_end() {
        assert_eq!(parse_mark(b"0"), Some(0));
        assert_eq!(parse_mark(b"16384"), Some(16384));
        assert_eq!(parse_mark(b"16385"), None);
        assert_eq!(parse_mark(b"-1"), None);
        assert_eq!(parse_mark(b"x"), None);
    }

    #[test]
    fn below_the_mark_is_moved_and_no_mark_is_unknown() {
        let progress = MoveProgress::new(2);
        let name = b"p:1:0";
        assert!(!progress.known(0) && !progress.moved_past(0, name));
        progress.set(0, Some(bucket(name)));
        assert!(progress.known(0) && !progress.moved_past(0, name));
        progress.set(0, Some(bucket(name) + 1));
        assert!(progress.moved_past(0, name) && !progress.moved_past(1, name));
        progress.set(0, None);
        assert!(!progress.known(0) && !progress.moved_past(0, name));
    }
}
