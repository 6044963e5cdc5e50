//! The byte stream under a connection: plain TCP, or TLS over it (the handshake done here, with
//! the node's settings from `config/tls.rs`); and for pub/sub, the same stream split into a
//! reader for one thread and a writer for another.

use std::io;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConnection, StreamOwned};

use crate::config::TlsSettings;
use crate::interrupt;

/// The stream a connection reads and writes: plain TCP or TLS over it.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, Tcp>>),
}

/// The TCP stream under a TLS session, read so that the caller's signal handlers can end a
/// wait (see `interrupt`): rustls retries a read EINTR interrupted on its own.
pub struct Tcp(TcpStream);

impl io::Read for Tcp {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        interrupt::read(&mut self.0, buf)
    }
}

impl io::Write for Tcp {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl Stream {
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(tcp) => tcp,
            Stream::Tls(tls) => &tls.sock.0,
        }
    }

    /// Has the server closed this idle stream, or sent something nobody asked for (a TLS
    /// close_notify, a last error line before closing)? Either way it cannot carry the next
    /// command. One non-blocking peek at the socket: no round trip, nothing consumed.
    pub fn closed_by_peer(&self) -> bool {
        peer_closed(self.tcp())
    }
}

#[cfg(unix)]
fn peer_closed(tcp: &TcpStream) -> bool {
    use std::os::fd::AsRawFd;
    let mut byte = 0u8;
    // SAFETY: `recv` writes at most one byte, into `byte`, which outlives the call; the
    // descriptor is the socket's own, open while `tcp` is borrowed.
    let peeked = unsafe {
        libc::recv(
            tcp.as_raw_fd(),
            (&raw mut byte).cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    match peeked {
        // The end of the stream: closed by the server (its `timeout`, CLIENT KILL, a restart,
        // a proxy's idle limit).
        0 => true,
        // Bytes waiting on a connection that has no command in flight.
        1.. => true,
        // Nothing to read: alive. Any other error (a reset) means it is gone.
        _ => !matches!(
            io::Error::last_os_error().kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
        ),
    }
}

#[cfg(not(unix))]
fn peer_closed(_: &TcpStream) -> bool {
    false
}

/// How long a pub/sub reader holds a shared TLS session while waiting for data, at most: the
/// longest a write (SUBSCRIBE, ...) waits for its turn.
const SHARED_POLL: Duration = Duration::from_millis(20);

impl Stream {
    /// The stream as a reader for one thread and a writer for another (pub/sub). Plain TCP is
    /// cloned; a TLS session cannot be, so both halves share it behind a lock and the reader
    /// polls with a short timeout, giving writes their turn. The reader returns an error
    /// once `closing` is set.
    pub fn split(self, closing: Arc<AtomicBool>) -> io::Result<(SplitReader, SplitWriter)> {
        match self {
            Stream::Plain(tcp) => {
                tcp.set_read_timeout(None)?;
                let writer = tcp.try_clone()?;
                Ok((SplitReader::Plain(tcp), SplitWriter::Plain(writer)))
            }
            tls @ Stream::Tls(_) => {
                tls.tcp().set_read_timeout(Some(SHARED_POLL))?;
                let shared = Arc::new(Mutex::new(tls));
                Ok((
                    SplitReader::Shared {
                        stream: Arc::clone(&shared),
                        closing,
                    },
                    SplitWriter::Shared(shared),
                ))
            }
        }
    }
}

/// The reading half of a split stream.
pub enum SplitReader {
    Plain(TcpStream),
    Shared {
        stream: Arc<Mutex<Stream>>,
        closing: Arc<AtomicBool>,
    },
}

impl io::Read for SplitReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            SplitReader::Plain(tcp) => tcp.read(buf),
            SplitReader::Shared { stream, closing } => loop {
                let result = stream.lock().unwrap_or_else(|p| p.into_inner()).read(buf);
                match result {
                    // Nothing yet: let a writer in, then wait again (the parser above never
                    // sees these, so a reply split across polls is read whole).
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) && !closing.load(Ordering::SeqCst) =>
                    {
                        std::thread::yield_now();
                    }
                    other => return other,
                }
            },
        }
    }
}

/// The writing half of a split stream.
pub enum SplitWriter {
    Plain(TcpStream),
    Shared(Arc<Mutex<Stream>>),
}

impl SplitWriter {
    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        use io::Write;
        match self {
            SplitWriter::Plain(tcp) => tcp.write_all(bytes),
            SplitWriter::Shared(shared) => shared
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .write_all(bytes),
        }
    }

    /// Ends the connection; the reader sees the end of its stream.
    pub fn shutdown(&self) {
        match self {
            SplitWriter::Plain(tcp) => {
                let _ = tcp.shutdown(Shutdown::Both);
            }
            SplitWriter::Shared(shared) => {
                let stream = shared.lock().unwrap_or_else(|p| p.into_inner());
                let _ = stream.tcp().shutdown(Shutdown::Both);
            }
        }
    }
}

impl io::Read for Stream {
    /// A read a signal interrupted (EINTR) is retried, unless the caller's check asks the wait
    /// to end (see `interrupt`): the layers above never see `ErrorKind::Interrupted`.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => interrupt::read(tcp, buf),
            Stream::Tls(tls) => tls.read(buf),
        }
    }
}

/// A call that was cancelled or interrupted sends nothing more (see `interrupt::before_write`).
impl io::Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        interrupt::before_write()?;
        match self {
            Stream::Plain(tcp) => tcp.write(buf),
            Stream::Tls(tls) => tls.write(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        interrupt::before_write()?;
        match self {
            Stream::Plain(tcp) => tcp.write_all(buf),
            // rustls buffers the records; flushing sends them in as few writes as it can.
            Stream::Tls(tls) => {
                tls.write_all(buf)?;
                tls.flush()
            }
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(tcp) => tcp.flush(),
            Stream::Tls(tls) => tls.flush(),
        }
    }
}

/// TLS over an open TCP connection, the handshake done now (within the stream's timeouts), so
/// a refused certificate is a connect error naming TLS.
pub fn tls(settings: &TlsSettings, tcp: TcpStream, host: &str) -> io::Result<Stream> {
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("TLS: {e}")))?;
    let session = ClientConnection::new(settings.client_config(), name)
        .map_err(|e| io::Error::other(format!("TLS: {e}")))?;
    let mut stream = StreamOwned::new(session, Tcp(tcp));
    while stream.conn.is_handshaking() {
        stream
            .conn
            .complete_io(&mut stream.sock)
            .map_err(|e| io::Error::new(e.kind(), format!("TLS handshake: {e}")))?;
    }
    Ok(Stream::Tls(Box::new(stream)))
}
