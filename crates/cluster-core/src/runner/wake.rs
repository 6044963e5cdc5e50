//! The pipe an event loop watches to learn that outcomes are waiting: one byte written when the
//! first outcome of a batch arrives, all bytes read when the loop drains. A flag keeps the
//! writers from filling the pipe with one byte per outcome.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};

pub(super) struct Wake {
    read: OwnedFd,
    write: OwnedFd,
    signalled: AtomicBool,
}

impl Wake {
    pub(super) fn new() -> io::Result<Wake> {
        let mut fds = [0; 2];
        // SAFETY: pipe2 fills the two descriptors of `fds` on success; both are owned below.
        let made = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
        if made != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fresh descriptors, owned by nothing else.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        Ok(Wake {
            read,
            write,
            signalled: AtomicBool::new(false),
        })
    }

    pub(super) fn fileno(&self) -> i32 {
        self.read.as_raw_fd()
    }

    /// Makes the read end readable, unless it is already.
    pub(super) fn signal(&self) {
        if !self.signalled.swap(true, Ordering::AcqRel) {
            // SAFETY: writes one byte from a live buffer to our own pipe. A full pipe
            // (EAGAIN) is readable already, which is all a signal needs.
            unsafe { libc::write(self.write.as_raw_fd(), [1u8].as_ptr().cast(), 1) };
        }
    }

    /// Empties the pipe before the outcomes are taken: an outcome queued after this signals
    /// again, so none waits unseen.
    pub(super) fn clear(&self) {
        let mut buf = [0u8; 64];
        // SAFETY: reads into a live buffer of its own length, from our own non-blocking pipe.
        while unsafe { libc::read(self.read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) } > 0 {
        }
        self.signalled.store(false, Ordering::Release);
    }
}
