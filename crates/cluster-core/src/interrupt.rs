//! Letting the caller's signal handlers end a wait, as they end a blocking socket call in the
//! caller's own language. A Python program blocked in BLPOP through redis-py stops on Ctrl-C, and
//! a timer's handler that raises (pytest-timeout, rq's job time limit) ends the call: CPython
//! runs the handler when `recv` fails with EINTR and, when it raises, gives up the read. The
//! engine reads with the interpreter's lock released, so the binding installs a check for the
//! calling thread (`with_check`) and the engine runs it where a wait can be interrupted: when a
//! read fails with EINTR, and between the polls of an emulated blocking pop.
//!
//! A check that asks the wait to end makes the read fail with [`error`]; the connection is then
//! in doubt (its reply is still coming) and is closed, as after any failed read. Without a
//! check (Rust callers, PHP) an interrupted read is simply retried.

use std::cell::Cell;
use std::fmt;
use std::io;

/// Runs the caller's pending signal handlers; `true` when one of them asks the wait to end
/// (the binding keeps what it raised, to raise it once the call is back).
pub type Check = fn() -> bool;

thread_local! {
    static CHECK: Cell<Option<Check>> = const { Cell::new(None) };
    /// The check asked a wait of the current call to end: every later read of the call ends
    /// at once too (a fan-out's other nodes, a pipeline's next batch), without waiting for
    /// another signal.
    static TRIPPED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `work` with `check` consulted by every interruptible wait on this thread.
pub fn with_check<R>(check: Check, work: impl FnOnce() -> R) -> R {
    struct Restore(Option<Check>, bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            CHECK.set(self.0);
            TRIPPED.set(self.1);
        }
    }
    let _restore = Restore(CHECK.replace(Some(check)), TRIPPED.replace(false));
    work()
}

/// Does this thread's caller want the current wait to end? `false` when no check is installed.
/// Once it said yes, it says yes for the rest of the call without being asked again.
pub(crate) fn requested() -> bool {
    if TRIPPED.get() {
        return true;
    }
    let asked = CHECK.get().is_some_and(|check| check());
    TRIPPED.set(asked);
    asked
}

/// Has the current call been interrupted already (see `requested`)?
pub(crate) fn tripped() -> bool {
    TRIPPED.get()
}

/// What a read ended by the caller fails with (an `io::Error` wrapping [`Interrupted`]).
pub(crate) fn error() -> io::Error {
    io::Error::other(Interrupted)
}

/// Reads from `reader`, retrying a read a signal interrupted (EINTR) unless the caller's check
/// asks the wait to end; once the call was interrupted, reads end at once. Under TLS too:
/// rustls retries EINTR itself, so this runs on the TCP stream it reads from.
pub(crate) fn read(reader: &mut impl io::Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        if tripped() {
            return Err(error());
        }
        match reader.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                if requested() {
                    return Err(error());
                }
            }
            other => return other,
        }
    }
}

/// Was `error` made by [`error`]?
#[cfg(test)]
fn is_interrupt(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.is::<Interrupted>())
}

/// The marker inside an interrupted read's `io::Error`.
#[derive(Debug)]
pub(crate) struct Interrupted;

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("interrupted by a signal handler")
    }
}

impl std::error::Error for Interrupted {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_asked_the_call_stays_interrupted_and_the_next_call_starts_afresh() {
        with_check(
            || true,
            || {
                assert!(!tripped());
                assert!(requested());
                assert!(tripped());
                let mut never_read = io::empty();
                assert!(is_interrupt(
                    &read(&mut never_read, &mut [0; 4]).unwrap_err()
                ));
            },
        );
        assert!(!tripped());
        with_check(|| false, || assert!(!requested() && !tripped()));
    }

    #[test]
    fn a_check_holds_only_inside_its_call_and_nests() {
        assert!(!requested());
        with_check(
            || true,
            || {
                assert!(requested());
                with_check(|| false, || assert!(!requested()));
                assert!(requested());
            },
        );
        assert!(!requested());
    }

    #[test]
    fn the_interrupt_error_is_recognised_and_others_are_not() {
        assert!(is_interrupt(&error()));
        assert!(!is_interrupt(&io::Error::from(io::ErrorKind::Interrupted)));
        assert!(!is_interrupt(&io::Error::other("other")));
    }
}
