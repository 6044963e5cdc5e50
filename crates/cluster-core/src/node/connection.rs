//! One connection to one server: TCP with the node's connect and read timeouts (Nagle off),
//! TLS when the node asks for it, AUTH with the config's credentials, packed commands written
//! in one call, replies read by the engine's own RESP reader. The database and every other
//! per-client setting are applied by the pool (see `pool.rs` and `session.rs`).

use std::io::{self, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};

use redis::Value;

use super::stream::{self, Stream};
use crate::config::NodeConfig;
use crate::wire::items::{Item, read_items};
use crate::wire::reply::read_value;
use crate::wire::request::pack_command;

/// Large replies (MGET of thousands of keys) arrive in few reads.
const READ_BUFFER: usize = 64 * 1024;

pub struct Connection {
    reader: BufReader<Stream>,
    line: Vec<u8>,
}

impl Connection {
    /// Connects and authenticates. A refused AUTH is a `redis::RedisError` carrying the
    /// server's error (never the password).
    pub fn open(config: &NodeConfig) -> redis::RedisResult<Connection> {
        let tcp = connect(config)?;
        tcp.set_nodelay(true)?;
        // Connecting (TLS handshake and AUTH included) is bounded as a whole; calls then by
        // the read timeout.
        let handshake = config.connect_phase_timeout();
        tcp.set_read_timeout(handshake)?;
        tcp.set_write_timeout(handshake)?;
        let stream = match &config.tls {
            Some(tls) => stream::tls(tls, tcp, &config.host)?,
            None => Stream::Plain(tcp),
        };
        let mut connection = Connection {
            reader: BufReader::with_capacity(READ_BUFFER, stream),
            line: Vec::new(),
        };
        if let Some(password) = &config.password {
            let mut auth: Vec<&[u8]> = vec![b"AUTH"];
            auth.extend(config.username.as_deref().map(str::as_bytes));
            auth.push(password.expose().as_bytes());
            let mut packed = Vec::new();
            pack_command(&auth, &[], &mut packed);
            connection.send(&packed)?;
            if let Value::ServerError(error) = connection.receive()? {
                return Err(error.into());
            }
        }
        if config.readonly {
            let mut packed = Vec::new();
            pack_command(&[b"READONLY"], &[], &mut packed);
            connection.send(&packed)?;
            if let Value::ServerError(error) = connection.receive()? {
                return Err(error.into());
            }
        }
        let tcp = connection.reader.get_ref().tcp();
        tcp.set_read_timeout(config.read_timeout)?;
        tcp.set_write_timeout(config.read_timeout)?;
        Ok(connection)
    }

    /// The stream itself, for a connection that is read by its own thread from now on
    /// (pub/sub). Nothing is buffered yet: only the AUTH reply was read.
    pub fn into_stream(self) -> Stream {
        self.reader.into_inner()
    }

    /// Writes packed commands (one or many) in one go.
    pub fn send(&mut self, packed: &[u8]) -> io::Result<()> {
        self.reader.get_mut().write_all(packed)
    }

    /// Reads the next reply; an error reply is a `Value::ServerError`, not an `Err`.
    pub fn receive(&mut self) -> io::Result<Value> {
        read_value(&mut self.reader, &mut self.line)
    }

    /// Reads the next reply element by element when it is an array of `expected` (see
    /// `wire::items`); any other reply is answered whole.
    pub fn receive_items(
        &mut self,
        expected: usize,
        visit: &mut dyn FnMut(usize, Item<'_>),
    ) -> io::Result<Option<Value>> {
        read_items(&mut self.reader, &mut self.line, expected, visit)
    }

    /// Can this idle connection (no command in flight) carry the next command? Not when the
    /// server has closed it meanwhile, nor when bytes nobody asked for are waiting. Costs one
    /// non-blocking syscall, no round trip: checked before every use of a pooled connection, so
    /// a command is never written to a socket the server already closed.
    pub fn is_stale(&self) -> bool {
        !self.reader.buffer().is_empty() || self.reader.get_ref().closed_by_peer()
    }
}

/// TCP to the node, trying each address its host resolves to, within the connect timeout.
fn connect(config: &NodeConfig) -> io::Result<TcpStream> {
    let Some(timeout) = config.connect_timeout else {
        return TcpStream::connect((config.host.as_str(), config.port));
    };
    let mut last = None;
    for addr in (config.host.as_str(), config.port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => return Ok(stream),
            Err(error) => last = Some(error),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, "the host resolves to no address")
    }))
}
