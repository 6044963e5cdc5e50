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
//!
//! A call may also be ended from another thread: [`Cancel`], installed for the call with
//! `with_cancel`. An asyncio task that awaits a BLPOP is cancelled (`asyncio.wait_for`'s
//! timeout) while an engine thread waits for the server's reply; as redis.asyncio closes the
//! connection of a cancelled call, `Cancel::cancel` shuts the socket being read down, the
//! server drops the blocked client without popping anything, and the call fails as
//! interrupted (never retried, no node backed off).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

/// Runs the caller's pending signal handlers; `true` when one of them asks the wait to end
/// (the binding keeps what it raised, to raise it once the call is back).
pub type Check = fn() -> bool;

thread_local! {
    static CHECK: Cell<Option<Check>> = const { Cell::new(None) };
    /// The cancel handle of the call running on this thread, if its caller gave one.
    static CANCEL: RefCell<Option<Cancel>> = const { RefCell::new(None) };
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

/// Ends a call from another thread (see the module's comment). Cloned handles are the same
/// handle; a handle cancelled before its call starts ends the call at its first read.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<Mutex<CancelState>>);

#[derive(Debug, Default)]
struct CancelState {
    cancelled: bool,
    /// The socket the call is blocked reading right now, if it is. Set and cleared under the
    /// lock by the reading thread, so `cancel` never shuts down a descriptor that was closed
    /// and reused meanwhile: the socket cannot be closed while its read is registered.
    reading: Option<std::os::fd::RawFd>,
}

impl Cancel {
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Ends the call: a read in progress returns at once (its socket is shut down, so the
    /// connection is closed afterwards, as after any interrupted read), later reads fail, and
    /// an emulated blocking pop stops at its next poll.
    pub fn cancel(&self) {
        let mut state = self.state();
        state.cancelled = true;
        if let Some(fd) = state.reading {
            // SAFETY: `fd` is the open socket of a read in progress on another thread; it
            // stays open while registered (see `reading`), and shutdown changes no memory.
            unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.state().cancelled
    }

    fn state(&self) -> std::sync::MutexGuard<'_, CancelState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Runs `work` on this thread so that `cancel` can end its waits from another thread.
pub fn with_cancel<R>(cancel: &Cancel, work: impl FnOnce() -> R) -> R {
    struct Restore(Option<Cancel>, bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            CANCEL.replace(self.0.take());
            TRIPPED.set(self.1);
        }
    }
    let previous = CANCEL.replace(Some(cancel.clone()));
    let _restore = Restore(previous, TRIPPED.replace(false));
    work()
}

/// Runs `work` (short, and answering at once: a non-blocking pop, the push of an element
/// already popped, the put-back of one) so that neither a signal handler nor a cancel ends it
/// halfway: an element taken from the server is then never dropped on the floor. A request
/// made meanwhile ends the call at its next wait, after `work`.
pub(crate) fn shielded<R>(work: impl FnOnce() -> R) -> R {
    struct Restore(Option<Check>, Option<Cancel>, bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            CHECK.set(self.0);
            CANCEL.replace(self.1.take());
            TRIPPED.set(self.2 || TRIPPED.get());
        }
    }
    let _restore = Restore(
        CHECK.replace(None),
        CANCEL.replace(None),
        TRIPPED.replace(false),
    );
    work()
}

fn cancelled() -> bool {
    CANCEL.with_borrow(|cancel| cancel.as_ref().is_some_and(Cancel::is_cancelled))
}

/// Does this thread's caller want the current wait to end? `false` when no check is installed
/// and no cancel handle was cancelled. Once it said yes, it says yes for the rest of the call
/// without being asked again.
pub(crate) fn requested() -> bool {
    if TRIPPED.get() {
        return true;
    }
    let asked = cancelled() || CHECK.get().is_some_and(|check| check());
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

/// Fails when the current call was cancelled (or interrupted) already: it must not send a
/// command it will never read the reply of. A cancelled blocking pop emulated over several
/// masters would otherwise send its next round of LPOPs, and an element one of them took
/// would be lost. Checked before every write; nothing but a flag when no handle is installed.
pub(crate) fn before_write() -> io::Result<()> {
    if tripped() || cancelled() {
        TRIPPED.set(true);
        return Err(error());
    }
    Ok(())
}

/// Reads from `socket`, retrying a read a signal interrupted (EINTR) unless the caller's check
/// asks the wait to end; once the call was interrupted, reads end at once. Under TLS too:
/// rustls retries EINTR itself, so this runs on the TCP stream it reads from.
pub(crate) fn read(socket: &mut TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        if tripped() {
            return Err(error());
        }
        let read = CANCEL.with_borrow(|cancel| match cancel {
            None => io::Read::read(socket, buf),
            Some(cancel) => read_cancellable(cancel, socket, buf),
        });
        match read {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                if requested() {
                    return Err(error());
                }
            }
            other => return other,
        }
    }
}

/// One read that `cancel` can end: the socket is registered while it blocks. Whatever the read
/// answered (the end of the stream, a reset), a cancelled call fails as interrupted.
fn read_cancellable(cancel: &Cancel, socket: &mut TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    {
        let mut state = cancel.state();
        if state.cancelled {
            TRIPPED.set(true);
            return Err(error());
        }
        state.reading = Some(socket.as_raw_fd());
    }
    let read = io::Read::read(socket, buf);
    let mut state = cancel.state();
    state.reading = None;
    if state.cancelled {
        TRIPPED.set(true);
        return Err(error());
    }
    read
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
                let (mut socket, _peer) = socket_pair();
                assert!(is_interrupt(&read(&mut socket, &mut [0; 4]).unwrap_err()));
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

    /// A connected loopback pair: the first end, and the peer that keeps it open.
    fn socket_pair() -> (TcpStream, TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let socket = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        (socket, listener.accept().unwrap().0)
    }

    #[test]
    fn a_cancel_from_another_thread_ends_a_blocked_read() {
        let (mut socket, _peer) = socket_pair();
        let cancel = Cancel::new();
        let canceller = {
            let cancel = cancel.clone();
            std::thread::spawn(move || {
                // Until the read is registered, so that the shutdown is what ends it.
                while cancel.state().reading.is_none() {
                    std::thread::yield_now();
                }
                cancel.cancel();
            })
        };
        let read = with_cancel(&cancel, || {
            let read = read(&mut socket, &mut [0; 4]);
            assert!(tripped() && requested());
            read
        });
        canceller.join().unwrap();
        assert!(is_interrupt(&read.unwrap_err()));
        assert!(!tripped() && !requested(), "the next call starts afresh");
    }

    #[test]
    fn a_cancel_before_the_call_ends_its_first_read_and_an_idle_handle_changes_nothing() {
        let (mut socket, mut peer) = socket_pair();
        let cancel = Cancel::new();
        cancel.cancel();
        let read_cancelled = with_cancel(&cancel, || read(&mut socket, &mut [0; 4]));
        assert!(is_interrupt(&read_cancelled.unwrap_err()));
        io::Write::write_all(&mut peer, b"+OK").unwrap();
        let idle = Cancel::new();
        let mut buf = [0; 3];
        let got = with_cancel(&idle, || read(&mut socket, &mut buf)).unwrap();
        assert_eq!(&buf[..got], &b"+OK"[..got]);
        assert!(!requested());
    }

    #[test]
    fn a_cancelled_call_writes_nothing_more() {
        let cancel = Cancel::new();
        with_cancel(&cancel, || {
            assert!(before_write().is_ok());
            cancel.cancel();
            assert!(is_interrupt(&before_write().unwrap_err()));
            assert!(tripped());
        });
        assert!(
            before_write().is_ok(),
            "outside the call nothing is refused"
        );
    }

    #[test]
    fn a_shielded_step_runs_whole_and_the_request_holds_after_it() {
        let cancel = Cancel::new();
        with_cancel(&cancel, || {
            cancel.cancel();
            shielded(|| {
                assert!(before_write().is_ok() && !requested());
            });
            assert!(
                requested(),
                "the cancel ends the call after the shielded step"
            );
        });
    }

    #[test]
    fn the_interrupt_error_is_recognised_and_others_are_not() {
        assert!(is_interrupt(&error()));
        assert!(!is_interrupt(&io::Error::from(io::ErrorKind::Interrupted)));
        assert!(!is_interrupt(&io::Error::other("other")));
    }
}
