//! Pub/sub over the cluster: a channel lives on the master its name hashes to (where PUBLISH
//! goes), patterns on every master. A `Subscription` keeps one dedicated connection per master
//! it listens on, a reader thread per connection (reading with the engine's RESP reader), and
//! hands out one merged stream of messages. A connection the server closes (a restart, CLIENT
//! KILL) is opened again, and what was subscribed on that master subscribed again, on the next
//! call (as redis-py's pub/sub does): messages published while it was closed are lost, as on
//! one server. A caller with an event loop sets a waker (`set_waker`), which the reader threads
//! call after each frame they hand over: the loop then takes it with `next_message(Some(0))`
//! instead of a thread of its own waiting in `next_message`.

use std::collections::BTreeSet;
use std::io::BufReader;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use redis::Value;

use crate::config::NodeConfig;
use crate::error::ClusterError;
use crate::node::connection::Connection;
use crate::node::stream::SplitWriter;
use crate::placement::node_name;
use crate::router::channel_shard;
use crate::wire::reply::read_value;
use crate::wire::request::pack_command;

/// One pub/sub event: a message (`message`, `pmessage`, `smessage`) or the confirmation of a
/// (un)subscription, in redis-py's terms.
#[derive(Clone, Debug, PartialEq)]
pub struct PubSubMessage {
    /// `message`, `pmessage`, `smessage`, `subscribe`, `unsubscribe`, `psubscribe`, ...
    pub kind: String,
    /// The pattern that matched (`pmessage` only).
    pub pattern: Option<Vec<u8>>,
    /// The channel (or, for a (p)(un)subscribe confirmation, the channel or pattern).
    pub channel: Vec<u8>,
    /// The payload; for confirmations, how many subscriptions remain, as on one server.
    pub data: Value,
    /// The master that delivered it.
    pub node: String,
}

/// A dedicated connection to one master, written by the caller and read by its own thread.
struct Listener {
    writer: SplitWriter,
    reader: Option<JoinHandle<()>>,
    /// Which connection this is (they are numbered as they are opened).
    number: u64,
}

/// What a reader thread hands over: the master, which of its connections read it (a replaced
/// connection's last words are ignored), and the frame or the failure.
struct Event {
    shard: usize,
    number: u64,
    read: Result<Value, ClusterError>,
}

/// Called by a reader thread after it handed a frame over (see `Subscription::set_waker`).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// Which master (an index into the subscription's masters) a channel lives on.
pub type ChannelHome = Arc<dyn Fn(&[u8]) -> usize + Send + Sync>;

/// Subscriptions to channels and patterns across every master, read as one stream.
pub struct Subscription {
    /// Every master's settings, `node_1` first.
    masters: Vec<NodeConfig>,
    home: ChannelHome,
    listeners: Vec<Option<Listener>>,
    opened: u64,
    events: Receiver<Event>,
    sender: Sender<Event>,
    closing: Arc<AtomicBool>,
    /// Shared with the reader threads, so a waker set later reaches those already running.
    waker: Arc<Mutex<Option<Waker>>>,
    channels: BTreeSet<Vec<u8>>,
    shard_channels: BTreeSet<Vec<u8>>,
    patterns: BTreeSet<Vec<u8>>,
    /// Subscriptions the servers confirmed, as the stream has shown them: `(kind, name)`.
    confirmed: BTreeSet<(u8, Vec<u8>)>,
}

impl Subscription {
    /// A new, empty subscription to these masters (connections are opened as channels are
    /// subscribed).
    pub fn new(masters: Vec<NodeConfig>) -> Subscription {
        let count = masters.len();
        Subscription::with_homes(masters, Arc::new(move |c| channel_shard(c, count)))
    }

    /// The same, with channels placed by `home` (a Redis Cluster's: by slot).
    pub fn with_homes(masters: Vec<NodeConfig>, home: ChannelHome) -> Subscription {
        let (sender, events) = channel();
        Subscription {
            home,
            listeners: (0..masters.len()).map(|_| None).collect(),
            opened: 0,
            masters,
            events,
            sender,
            closing: Arc::new(AtomicBool::new(false)),
            waker: Arc::new(Mutex::new(None)),
            channels: BTreeSet::new(),
            shard_channels: BTreeSet::new(),
            patterns: BTreeSet::new(),
            confirmed: BTreeSet::new(),
        }
    }

    /// SUBSCRIBE: each channel on its own master.
    pub fn subscribe<C: AsRef<[u8]>>(&mut self, channels: &[C]) -> Result<(), ClusterError> {
        self.by_channel("SUBSCRIBE", channels)?;
        self.channels
            .extend(channels.iter().map(|c| c.as_ref().to_vec()));
        Ok(())
    }

    /// SSUBSCRIBE (shard channels): each channel on its own master.
    pub fn ssubscribe<C: AsRef<[u8]>>(&mut self, channels: &[C]) -> Result<(), ClusterError> {
        self.by_channel("SSUBSCRIBE", channels)?;
        self.shard_channels
            .extend(channels.iter().map(|c| c.as_ref().to_vec()));
        Ok(())
    }

    /// UNSUBSCRIBE the given channels, or every channel when none is given.
    pub fn unsubscribe<C: AsRef<[u8]>>(&mut self, channels: &[C]) -> Result<(), ClusterError> {
        let channels = given_or_all(channels, &self.channels);
        if !channels.is_empty() {
            self.by_channel("UNSUBSCRIBE", &channels)?;
        }
        channels.iter().for_each(|c| {
            self.channels.remove(c);
        });
        Ok(())
    }

    /// SUNSUBSCRIBE the given shard channels, or every one when none is given.
    pub fn sunsubscribe<C: AsRef<[u8]>>(&mut self, channels: &[C]) -> Result<(), ClusterError> {
        let channels = given_or_all(channels, &self.shard_channels);
        if !channels.is_empty() {
            self.by_channel("SUNSUBSCRIBE", &channels)?;
        }
        channels.iter().for_each(|c| {
            self.shard_channels.remove(c);
        });
        Ok(())
    }

    /// PSUBSCRIBE: every master, since a matching channel may live on any of them.
    pub fn psubscribe<P: AsRef<[u8]>>(&mut self, patterns: &[P]) -> Result<(), ClusterError> {
        self.everywhere("PSUBSCRIBE", patterns)?;
        self.patterns
            .extend(patterns.iter().map(|p| p.as_ref().to_vec()));
        Ok(())
    }

    /// PUNSUBSCRIBE the given patterns, or every pattern when none is given.
    pub fn punsubscribe<P: AsRef<[u8]>>(&mut self, patterns: &[P]) -> Result<(), ClusterError> {
        let patterns = given_or_all(patterns, &self.patterns);
        if !patterns.is_empty() {
            self.everywhere("PUNSUBSCRIBE", &patterns)?;
        }
        patterns.iter().for_each(|p| {
            self.patterns.remove(p);
        });
        Ok(())
    }

    /// The channels subscribed to now.
    pub fn channels(&self) -> Vec<Vec<u8>> {
        self.channels.iter().cloned().collect()
    }

    /// The shard channels subscribed to now.
    pub fn shard_channels(&self) -> Vec<Vec<u8>> {
        self.shard_channels.iter().cloned().collect()
    }

    /// The patterns subscribed to now.
    pub fn patterns(&self) -> Vec<Vec<u8>> {
        self.patterns.iter().cloned().collect()
    }

    /// Calls `waker` after every frame a reader thread hands over (a message, a confirmation,
    /// a lost connection): the moment `next_message` has something to answer, or a
    /// reconnection to make. `None` stops the calls.
    pub fn set_waker(&mut self, waker: Option<Waker>) {
        *self.waker.lock().unwrap_or_else(|p| p.into_inner()) = waker;
    }

    /// The next event from any master, waiting at most `timeout` (`None`: until one comes).
    /// `Ok(None)` when the time is up. A connection the server closed is opened again and its
    /// master's subscriptions made again (their confirmations are events too); a master that
    /// cannot be reached is an error naming it, and is tried again on the next call.
    pub fn next_message(
        &mut self,
        timeout: Option<Duration>,
    ) -> Result<Option<PubSubMessage>, ClusterError> {
        self.restore_lost()?;
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let received = match deadline {
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    match self.events.recv_timeout(left) {
                        Ok(event) => event,
                        Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                            return Ok(None);
                        }
                    }
                }
                None => match self.events.recv() {
                    Ok(event) => event,
                    Err(_) => return Ok(None),
                },
            };
            let Event {
                shard,
                number,
                read,
            } = received;
            match read {
                Ok(value) => {
                    if let Some(message) = self.message(shard, value) {
                        return Ok(Some(message));
                    }
                }
                // Only the failure of a master's current connection matters.
                Err(_) if !self.is_current(shard, number) => {}
                Err(error) => {
                    self.drop_listener(shard);
                    if self.reconnect(shard).is_err() {
                        return Err(error);
                    }
                }
            }
        }
    }

    /// Turns a pushed frame into a message, or `None` for the copies of a pattern confirmation
    /// that every master but the first sends (the caller subscribed once).
    fn message(&mut self, shard: usize, value: Value) -> Option<PubSubMessage> {
        let Value::Array(items) = value else {
            return None;
        };
        let text = |v: &Value| match v {
            Value::BulkString(b) => b.clone(),
            Value::SimpleString(s) => s.clone().into_bytes(),
            _ => Vec::new(),
        };
        let kind = String::from_utf8_lossy(&text(items.first()?)).into_owned();
        let node = node_name(shard);
        let message = match (kind.as_str(), items.len()) {
            ("pmessage", 4) => PubSubMessage {
                pattern: Some(text(&items[1])),
                channel: text(&items[2]),
                data: items[3].clone(),
                kind,
                node,
            },
            ("psubscribe" | "punsubscribe", 3) if shard != 0 => return None,
            (_, 3) => {
                let channel = text(&items[1]);
                // A confirmation counts the caller's subscriptions, not one master's.
                let change = match kind.as_str() {
                    "subscribe" => Some((b'c', true)),
                    "unsubscribe" => Some((b'c', false)),
                    "psubscribe" => Some((b'p', true)),
                    "punsubscribe" => Some((b'p', false)),
                    "ssubscribe" => Some((b's', true)),
                    "sunsubscribe" => Some((b's', false)),
                    _ => None,
                };
                let data = match change {
                    Some((class, true)) => {
                        self.confirmed.insert((class, channel.clone()));
                        Value::Int(self.confirmed.len() as i64)
                    }
                    Some((class, false)) => {
                        self.confirmed.remove(&(class, channel.clone()));
                        Value::Int(self.confirmed.len() as i64)
                    }
                    None => items[2].clone(),
                };
                PubSubMessage {
                    pattern: None,
                    channel,
                    data,
                    kind,
                    node,
                }
            }
            _ => return None,
        };
        Some(message)
    }

    /// Sends `command` with each master's share of `channels` to that master.
    fn by_channel<C: AsRef<[u8]>>(
        &mut self,
        command: &str,
        channels: &[C],
    ) -> Result<(), ClusterError> {
        let masters = self.listeners.len();
        let mut shares: Vec<Vec<&[u8]>> = vec![Vec::new(); masters];
        for channel in channels {
            shares[(self.home)(channel.as_ref())].push(channel.as_ref());
        }
        for (shard, share) in shares.into_iter().enumerate() {
            if !share.is_empty() {
                self.send(shard, command, &share)?;
            }
        }
        Ok(())
    }

    /// Sends `command` with all `names` to every master.
    fn everywhere<P: AsRef<[u8]>>(
        &mut self,
        command: &str,
        names: &[P],
    ) -> Result<(), ClusterError> {
        let names: Vec<&[u8]> = names.iter().map(AsRef::as_ref).collect();
        for shard in 0..self.listeners.len() {
            self.send(shard, command, &names)?;
        }
        Ok(())
    }

    /// Sends `command` with `names` to a master, on a connection that is up: opened when there
    /// is none yet, opened again (with its master's subscriptions) when the server closed it.
    fn send(&mut self, shard: usize, command: &str, names: &[&[u8]]) -> Result<(), ClusterError> {
        let closed = self.listeners[shard]
            .as_ref()
            .is_none_or(|l| l.reader.as_ref().is_none_or(JoinHandle::is_finished));
        if closed {
            self.drop_listener(shard);
            self.reconnect(shard)?;
        }
        self.write(shard, command, names)
    }

    /// Writes `command` with `names` on the master's open connection.
    /// Shard channels go one per command: a Redis Cluster takes several in one SSUBSCRIBE only
    /// when they share a slot.
    fn write(&mut self, shard: usize, command: &str, names: &[&[u8]]) -> Result<(), ClusterError> {
        let mut packed = Vec::new();
        if matches!(command, "SSUBSCRIBE" | "SUNSUBSCRIBE") && names.len() > 1 {
            for name in names {
                pack_command(&[command.as_bytes(), name], &[], &mut packed);
            }
        } else {
            let mut args: Vec<&[u8]> = vec![command.as_bytes()];
            args.extend_from_slice(names);
            pack_command(&args, &[], &mut packed);
        }
        let config = &self.masters[shard];
        let listener = self.listeners[shard]
            .as_mut()
            .ok_or_else(|| io_error(config, std::io::ErrorKind::NotConnected.into()))?;
        listener
            .writer
            .write_all(&packed)
            .map_err(|e| io_error(config, e))
    }

    /// Opens a master's connection and subscribes again to what lives there.
    fn reconnect(&mut self, shard: usize) -> Result<(), ClusterError> {
        let config = self.masters[shard].clone();
        self.opened += 1;
        self.listeners[shard] = Some(self.listen(shard, &config, self.opened)?);
        let home = Arc::clone(&self.home);
        let on_shard = |names: &BTreeSet<Vec<u8>>| -> Vec<Vec<u8>> {
            names.iter().filter(|n| home(n) == shard).cloned().collect()
        };
        let again = [
            ("SUBSCRIBE", on_shard(&self.channels)),
            ("SSUBSCRIBE", on_shard(&self.shard_channels)),
            ("PSUBSCRIBE", self.patterns.iter().cloned().collect()),
        ];
        for (command, names) in again {
            if !names.is_empty() {
                let names: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
                self.write(shard, command, &names)?;
            }
        }
        Ok(())
    }

    /// Masters that should be listened to (a subscription lives there) but have no connection
    /// since one could not be opened again: tried again now.
    fn restore_lost(&mut self) -> Result<(), ClusterError> {
        let masters = self.masters.len();
        for shard in 0..masters {
            let wanted = !self.patterns.is_empty()
                || self
                    .channels
                    .iter()
                    .chain(&self.shard_channels)
                    .any(|c| (self.home)(c) == shard);
            if wanted && self.listeners[shard].is_none() {
                self.reconnect(shard)?;
            }
        }
        Ok(())
    }

    fn is_current(&self, shard: usize, number: u64) -> bool {
        self.listeners[shard]
            .as_ref()
            .is_some_and(|l| l.number == number)
    }

    /// Closes a master's connection, if any, and waits for its reader.
    fn drop_listener(&mut self, shard: usize) {
        if let Some(mut listener) = self.listeners[shard].take() {
            listener.writer.shutdown();
            if let Some(reader) = listener.reader.take() {
                let _ = reader.join();
            }
        }
    }

    /// Opens a dedicated connection to a master (TLS and AUTH as for any connection), and
    /// starts its reader thread.
    fn listen(
        &self,
        shard: usize,
        config: &NodeConfig,
        number: u64,
    ) -> Result<Listener, ClusterError> {
        let connection = Connection::open(config)
            .map_err(|e| ClusterError::from_redis(&config.name, &config.addr(), e))?;
        let (stream, writer) = connection
            .into_stream()
            .split(Arc::clone(&self.closing))
            .map_err(|e| io_error(config, e))?;
        let mut stream = BufReader::new(stream);
        let mut line = Vec::new();
        let (sender, closing, waker, node, addr) = (
            self.sender.clone(),
            Arc::clone(&self.closing),
            Arc::clone(&self.waker),
            config.name.clone(),
            config.addr(),
        );
        let reader = std::thread::Builder::new()
            .name(format!("rediscluster-pubsub-{node}"))
            .spawn(move || {
                loop {
                    let read = read_value(&mut stream, &mut line)
                        .map_err(|e| ClusterError::from_redis(&node, &addr, e.into()));
                    let failed = read.is_err();
                    if failed && closing.load(Ordering::SeqCst) {
                        return;
                    }
                    let event = Event {
                        shard,
                        number,
                        read,
                    };
                    if sender.send(event).is_err() {
                        return;
                    }
                    let wake = waker.lock().unwrap_or_else(|p| p.into_inner()).clone();
                    if let Some(wake) = wake {
                        wake();
                    }
                    if failed {
                        return;
                    }
                }
            })
            .map_err(|e| io_error(config, e))?;
        Ok(Listener {
            writer,
            reader: Some(reader),
            number,
        })
    }
}

impl Drop for Subscription {
    /// Closes every connection; the reader threads see the end of their stream and stop.
    fn drop(&mut self) {
        self.closing.store(true, Ordering::SeqCst);
        for listener in self.listeners.iter_mut().flatten() {
            listener.writer.shutdown();
            if let Some(reader) = listener.reader.take() {
                let _ = reader.join();
            }
        }
    }
}

/// The names given, or all of `current` when none is (UNSUBSCRIBE without arguments).
fn given_or_all<N: AsRef<[u8]>>(given: &[N], current: &BTreeSet<Vec<u8>>) -> Vec<Vec<u8>> {
    if given.is_empty() {
        current.iter().cloned().collect()
    } else {
        given.iter().map(|n| n.as_ref().to_vec()).collect()
    }
}

fn io_error(config: &NodeConfig, error: std::io::Error) -> ClusterError {
    ClusterError::from_redis(&config.name, &config.addr(), error.into())
}
