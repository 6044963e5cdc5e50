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
}

/// Runs `work` with `check` consulted by every interruptible wait on this thread.
pub fn with_check<R>(check: Check, work: impl FnOnce() -> R) -> R {
    struct Restore(Option<Check>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CHECK.set(self.0);
        }
    }
    let _restore = Restore(CHECK.replace(Some(check)));
    work()
}

/// Does this thread's caller want the current wait to end? `false` when no check is installed.
pub(crate) fn requested() -> bool {
    CHECK.get().is_some_and(|check| check())
}

/// What a read ended by the caller fails with (an `io::Error` wrapping [`Interrupted`]).
pub(crate) fn error() -> io::Error {
    io::Error::other(Interrupted)
}

/// Was `error` made by [`error`]?
pub(crate) fn is_interrupt(error: &io::Error) -> bool {
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
