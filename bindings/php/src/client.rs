//! `RedisCluster\RedisCluster`: phpredis's methods, argument forms and return conventions on
//! the engine. Each method turns its PHP arguments into one command's bytes (keys prefixed,
//! values serialized, as phpredis does), runs it through the core (which decides where), and
//! shapes the reply as phpredis would. `__call` takes the methods of the table in `methods.rs`;
//! `pipeline()` / `multi()` queue commands until `exec()` (see `run.rs`).

use cluster_core::{ClusterConfig, ClusterError, Subscription, Value, Watch};
use ext_php_rs::convert::IntoZval;
use ext_php_rs::exception::PhpException;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{PhpRef, ZendClassObject, ZendHashTable, Zval};

use crate::args::{Command, flatten, integer, list_or_one};
use crate::array::{Key, KeyRef, entries, entries_ref, values};
use crate::config::{apply_options, to_json};
use crate::convert::{Arg, Shape, arg, arg_ref, reply, text};
use crate::errors::{exception, invalid, server_exception};
use crate::methods::generic_method;
use crate::options::{self, Options};
use crate::persistent::{self, Engine};
use crate::run::{Queue, Step, false_zval, plain_values, run_steps, run_transaction, shaped};
use crate::subscribe::Kind;

/// phpredis's `Redis::ATOMIC`, `Redis::MULTI`, `Redis::PIPELINE`.
const ATOMIC: i64 = 0;
const MULTI: i64 = 1;
const PIPELINE: i64 = 2;

#[php_class]
#[php(name = "RedisCluster\\RedisCluster")]
pub struct RedisCluster {
    pub(crate) cluster: Engine,
    config: ClusterConfig,
    /// `Some(id)` for a persistent engine (`persistent.rs`).
    persistent: Option<String>,
    pub(crate) options: Options,
    queue: Option<Queue>,
    last_error: Option<String>,
    /// `watch()`: a connection of the watched keys' master, held until `exec()`,
    /// `unwatch()` or `discard()`.
    watch: Option<Watch>,
    /// The subscription of a running `subscribe()` callback loop (`subscribe.rs`).
    pub(crate) subscription: Option<Subscription>,
}

pub(crate) type This = ZendClassObject<RedisCluster>;

fn zval_of(value: impl IntoZval) -> PhpResult<Zval> {
    value.into_zval(false).map_err(|e| invalid(e.to_string()))
}

impl RedisCluster {
    pub(crate) fn this(self_: &mut This) -> Result<&mut RedisCluster, PhpException> {
        self_
            .obj
            .as_mut()
            .ok_or_else(|| invalid("the RedisCluster object was not constructed"))
    }

    /// Runs one command, or queues it (then `$this` comes back, for chaining).
    pub(crate) fn run<A: AsRef<[u8]> + Into<Vec<u8>>>(
        self_: &mut This,
        args: Vec<A>,
        shape: Shape,
    ) -> PhpResult<Zval> {
        let client = Self::this(self_)?;
        if let Some(queue) = client.queue.as_mut() {
            // Owned arguments move into the queue; borrowed ones are copied once.
            queue.push((args.into_iter().map(Into::into).collect(), shape));
            return self_.into_zval(false).map_err(|e| invalid(e.to_string()));
        }
        // Shaping the reply may run PHP code (a serializer calls `__wakeup`/`__unserialize`),
        // which may call this client again: the call works on its own handles, never on the
        // client's fields.
        let (cluster, options) = (client.cluster.handle(), client.options.clone());
        let result = cluster.execute(&args);
        let mut last_error = None;
        let out = shaped(&args, result, shape, &options, &mut last_error);
        Self::keep_error(self_, last_error);
        out
    }

    /// Records the error a call met (after any PHP code its reply ran).
    pub(crate) fn keep_error(self_: &mut This, error: Option<String>) {
        if let (Some(error), Some(client)) = (error, self_.obj.as_mut()) {
            client.last_error = Some(error);
        }
    }

    /// Runs a command now, even in pipeline mode, giving the engine's value (or phpredis's
    /// `false` on an error reply) for a method to shape itself.
    pub(crate) fn value_now(
        self_: &mut This,
        args: Vec<Vec<u8>>,
    ) -> PhpResult<Result<Value, Zval>> {
        let client = Self::this(self_)?;
        if client.queue.is_some() {
            return Err(invalid(
                "this method cannot be queued in pipeline() or multi()",
            ));
        }
        let (cluster, options) = (client.cluster.handle(), client.options.clone());
        let error = match cluster.execute(&args) {
            Ok(Value::ServerError(error)) => ClusterError::Server {
                node: String::new(),
                error,
            },
            Ok(value) => return Ok(Ok(value)),
            Err(error) => error,
        };
        let mut last_error = None;
        let failed = shaped(&args, Err(error), Shape::Raw, &options, &mut last_error);
        Self::keep_error(self_, last_error);
        Ok(Err(failed?))
    }

    pub(crate) fn options(self_: &mut This) -> Result<Options, PhpException> {
        Ok(Self::this(self_)?.options.clone())
    }

    /// Builds a command with the client's options and runs it.
    pub(crate) fn call(
        self_: &mut This,
        shape: Shape,
        build: impl FnOnce(&mut Command) -> Result<(), PhpException>,
        name: &str,
    ) -> PhpResult<Zval> {
        let options = Self::options(self_)?;
        let mut command = Command::new(name, &options);
        build(&mut command)?;
        let args = command.args;
        Self::run(self_, args, shape)
    }

    /// phpredis returns `false` for a call it refuses before sending, with the reason kept.
    pub(crate) fn refuse(self_: &mut This, message: &str) -> PhpResult<Zval> {
        Self::this(self_)?.last_error = Some(message.to_owned());
        Ok(false_zval())
    }
}

#[php_impl]
impl RedisCluster {
    pub const ATOMIC: i64 = ATOMIC;
    pub const MULTI: i64 = MULTI;
    pub const PIPELINE: i64 = PIPELINE;
    pub const OPT_SERIALIZER: i64 = options::OPT_SERIALIZER;
    pub const OPT_PREFIX: i64 = options::OPT_PREFIX;
    pub const OPT_READ_TIMEOUT: i64 = options::OPT_READ_TIMEOUT;
    pub const OPT_SCAN: i64 = options::OPT_SCAN;
    pub const OPT_TCP_KEEPALIVE: i64 = options::OPT_TCP_KEEPALIVE;
    pub const OPT_COMPRESSION: i64 = options::OPT_COMPRESSION;
    pub const OPT_REPLY_LITERAL: i64 = options::OPT_REPLY_LITERAL;
    pub const OPT_COMPRESSION_LEVEL: i64 = options::OPT_COMPRESSION_LEVEL;
    pub const OPT_NULL_MULTIBULK_AS_NULL: i64 = options::OPT_NULL_MULTIBULK_AS_NULL;
    pub const OPT_MAX_RETRIES: i64 = options::OPT_MAX_RETRIES;
    pub const OPT_BACKOFF_ALGORITHM: i64 = options::OPT_BACKOFF_ALGORITHM;
    pub const OPT_BACKOFF_BASE: i64 = options::OPT_BACKOFF_BASE;
    pub const OPT_BACKOFF_CAP: i64 = options::OPT_BACKOFF_CAP;
    pub const OPT_THROW_ERRORS: i64 = options::OPT_THROW_ERRORS;
    pub const SERIALIZER_NONE: i64 = 0;
    pub const SERIALIZER_PHP: i64 = 1;
    pub const SERIALIZER_IGBINARY: i64 = 2;
    pub const SERIALIZER_MSGPACK: i64 = 3;
    pub const SERIALIZER_JSON: i64 = 4;
    pub const COMPRESSION_NONE: i64 = 0;
    pub const COMPRESSION_LZF: i64 = 1;
    pub const COMPRESSION_ZSTD: i64 = 2;
    pub const COMPRESSION_LZ4: i64 = 3;
    pub const SCAN_NORETRY: i64 = options::SCAN_NORETRY;
    pub const SCAN_RETRY: i64 = options::SCAN_RETRY;
    pub const SCAN_PREFIX: i64 = options::SCAN_PREFIX;
    pub const SCAN_NOPREFIX: i64 = options::SCAN_NOPREFIX;
    pub const REDIS_NOT_FOUND: i64 = 0;
    pub const REDIS_STRING: i64 = 1;
    pub const REDIS_SET: i64 = 2;
    pub const REDIS_LIST: i64 = 3;
    pub const REDIS_ZSET: i64 = 4;
    pub const REDIS_HASH: i64 = 5;
    pub const REDIS_STREAM: i64 = 6;
    pub const AFTER: &'static str = "after";
    pub const BEFORE: &'static str = "before";

    /// `new RedisCluster(['nodes' => [...], 'master_of' => [...]], $db, $mastersOnly,
    /// ['timeout' => 1.5, 'read_timeout' => 1.5, 'password' => ..., 'username' => ...,
    /// 'persistent' => true, 'exceptions' => true])`. The whole config is validated before
    /// anything connects; `persistent` (true or an id) reuses the process's engine for that
    /// config (`persistent.rs`); `exceptions` makes error replies throw.
    #[php(optional = db)]
    pub fn __construct(
        cluster: &Zval,
        db: Option<i64>,
        masters_only: Option<bool>,
        options: Option<&ZendHashTable>,
    ) -> PhpResult<Self> {
        let mut config = match to_json(cluster)? {
            serde_json::Value::Object(map) => map,
            other => {
                return Err(invalid(format!(
                    "invalid cluster config: the cluster config must be an array like ['nodes' => ['node_1' => ['host' => ..., 'port' => ...]]], got {other}"
                )));
            }
        };
        if let Some(db) = db {
            config.insert("db".to_owned(), db.into());
        }
        if let Some(masters_only) = masters_only {
            config.insert("mastersonly".to_owned(), masters_only.into());
        }
        let mut throw_errors = false;
        let mut persistent = None;
        if let Some(options) = options {
            throw_errors = apply_options(&mut config, options)?;
            persistent = persistent::option(options)?;
        }
        let config = ClusterConfig::from_value(&serde_json::Value::Object(config))
            .map_err(|e| exception(ClusterError::Config(e)))?;
        let cluster = persistent::engine(config.clone(), persistent.clone()).map_err(exception)?;
        let read_timeout = config
            .masters
            .first()
            .and_then(|m| m.read_timeout)
            .map_or(0.0, |t| t.as_secs_f64());
        let mut options = Options::new(read_timeout);
        options.throw_errors = throw_errors;
        Ok(RedisCluster {
            cluster,
            config,
            persistent,
            options,
            queue: None,
            last_error: None,
            watch: None,
            subscription: None,
        })
    }

    // ---- client options and helpers -------------------------------------------------------

    /// phpredis's `setOption(Redis::OPT_*, $value)`: `false` for an unknown option or value.
    pub fn set_option(&mut self, option: i64, value: &Zval) -> PhpResult<bool> {
        match self.options.set(option, value) {
            Err(()) => Ok(false),
            Ok(None) => Ok(true),
            Ok(Some(read_timeout)) => {
                // The read timeout belongs to the connections: a new engine with it, made
                // before anything changes (a failure leaves the client as it was). A persistent
                // client's new engine is its own: the process keeps one persistent engine per
                // config, not one per timeout a request tried.
                let timeout = (read_timeout.is_finite() && read_timeout > 0.0)
                    .then(|| std::time::Duration::from_secs_f64(read_timeout));
                let mut config = self.config.clone();
                for node in config
                    .masters
                    .iter_mut()
                    .chain(config.replicas.iter_mut().flatten())
                {
                    node.read_timeout = timeout;
                }
                if config.masters != self.config.masters || config.replicas != self.config.replicas
                {
                    self.cluster = persistent::engine(config.clone(), None).map_err(exception)?;
                    self.persistent = None;
                    self.config = config;
                }
                self.options.read_timeout = read_timeout;
                Ok(true)
            }
        }
    }

    pub fn get_option(&self, option: i64) -> Zval {
        self.options.get(option).unwrap_or_else(false_zval)
    }

    /// The last error reply (phpredis: a string, or null).
    pub fn get_last_error(&self) -> Option<String> {
        self.last_error.clone()
    }

    pub fn clear_last_error(&mut self) -> bool {
        self.last_error = None;
        true
    }

    #[php(name = "_prefix")]
    pub fn prefix_key(&self, key: &Zval) -> PhpResult<Zval> {
        let mut out = Zval::new();
        out.set_binary(self.options.key(arg(key)?));
        Ok(out)
    }

    #[php(name = "_serialize")]
    pub fn serialize_value(&self, value: &Zval) -> PhpResult<Zval> {
        let mut out = Zval::new();
        out.set_binary(self.options.codec.serialize(value)?);
        Ok(out)
    }

    #[php(name = "_unserialize")]
    pub fn unserialize_value(&self, value: &Zval) -> PhpResult<Zval> {
        self.options.codec.unserialize(&arg(value)?)
    }

    #[php(name = "_compress")]
    pub fn compress_value(&self, value: &Zval) -> PhpResult<Zval> {
        let codec = &self.options.codec;
        let mut out = Zval::new();
        out.set_binary(
            crate::compress::compress(codec.compression, codec.level, &arg(value)?).into_owned(),
        );
        Ok(out)
    }

    /// The value decompressed; an exception where phpredis throws (data that does not
    /// decompress).
    #[php(name = "_uncompress")]
    pub fn uncompress_value(&self, value: &Zval) -> PhpResult<Zval> {
        let bytes = arg(value)?;
        let Some(plain) = crate::compress::try_uncompress(self.options.codec.compression, &bytes)
        else {
            return Err(invalid("Invalid compressed data or uncompression error"));
        };
        let mut out = Zval::new();
        out.set_binary(plain.into_owned());
        Ok(out)
    }

    #[php(name = "_pack")]
    pub fn pack_value(&self, value: &Zval) -> PhpResult<Zval> {
        let mut out = Zval::new();
        out.set_binary(self.options.codec.pack(value)?);
        Ok(out)
    }

    #[php(name = "_unpack")]
    pub fn unpack_value(&self, value: &Zval) -> PhpResult<Zval> {
        self.options.codec.unpack(&arg(value)?)
    }

    /// `['node_2' => ['host' => '127.0.0.1', 'port' => 7001]]`: the master `$key` is (or
    /// will be) stored on, after the client's prefix; `name{tag}` keys are placed by `tag`.
    pub fn get_node_for(&self, key: &Zval) -> PhpResult<Zval> {
        let node = self.cluster.node_config_for(self.options.key(arg(key)?));
        let mut address = ZendHashTable::new();
        address
            .insert("host", node.host.as_str())
            .and_then(|()| address.insert("port", i64::from(node.port)))
            .map_err(|e| invalid(e.to_string()))?;
        let mut out = ZendHashTable::new();
        out.insert(node.name.as_str(), address)
            .map_err(|e| invalid(e.to_string()))?;
        zval_of(out)
    }

    /// Closes the idle connections; the object reconnects if used again.
    pub fn close(&self) -> bool {
        self.cluster.disconnect();
        true
    }

    // ---- connection --------------------------------------------------------------------------
    // The cluster config given to the constructor says where every master is; connections are
    // made from it as commands need them. phpredis's connect methods, which code replacing
    // `new Redis()` still calls, are accepted and connect nothing more.

    /// `connect($host, $port, ...)`: `true`; the masters come from the cluster config.
    pub fn connect(&self, args: &[&Zval]) -> bool {
        let _ = args; // host, port, timeouts: the config's
        true
    }

    pub fn open(&self, args: &[&Zval]) -> bool {
        self.connect(args)
    }

    /// `pconnect($host, $port, $timeout, $persistentId)`: this client's engine becomes the
    /// process's persistent engine for its config (and `$persistentId`), as with the
    /// constructor's `persistent` option.
    pub fn pconnect(&mut self, args: &[&Zval]) -> PhpResult<bool> {
        let id = match args.get(3).map(|z| z.dereference()) {
            Some(id) if !id.is_null() => String::from_utf8_lossy(&arg(id)?).into_owned(),
            _ => String::new(),
        };
        if self.persistent.as_deref() != Some(id.as_str()) {
            self.cluster =
                persistent::engine(self.config.clone(), Some(id.clone())).map_err(exception)?;
            self.persistent = Some(id);
        }
        Ok(true)
    }

    pub fn popen(&mut self, args: &[&Zval]) -> PhpResult<bool> {
        self.pconnect(args)
    }

    /// Always `true`: a master that cannot be reached fails its own commands.
    pub fn is_connected(&self) -> bool {
        true
    }

    pub fn get_db_num(&self) -> i64 {
        self.config.masters.first().map_or(0, |m| m.db)
    }

    /// The connect timeout, in seconds.
    pub fn get_timeout(&self) -> f64 {
        self.config
            .masters
            .first()
            .and_then(|m| m.connect_timeout)
            .map_or(0.0, |t| t.as_secs_f64())
    }

    pub fn get_read_timeout(&self) -> f64 {
        self.options.read_timeout
    }

    /// The persistent id (`''` for `persistent => true`), or `null` for an engine of its own.
    #[php(name = "getPersistentID")]
    pub fn get_persistent_id(&self) -> Option<String> {
        self.persistent.clone()
    }

    // ---- phpredis's older names ----------------------------------------------------------------

    pub fn evaluate(
        self_: &mut This,
        script: &Zval,
        args: Option<&ZendHashTable>,
        num_keys: Option<i64>,
    ) -> PhpResult<Zval> {
        Self::script_call(self_, "EVAL", script, args, num_keys)
    }

    #[php(name = "evaluateSha")]
    pub fn evaluate_sha(
        self_: &mut This,
        sha: &Zval,
        args: Option<&ZendHashTable>,
        num_keys: Option<i64>,
    ) -> PhpResult<Zval> {
        Self::script_call(self_, "EVALSHA", sha, args, num_keys)
    }

    pub fn get_multiple(self_: &mut This, keys: &ZendHashTable) -> PhpResult<Zval> {
        Self::m_get(self_, keys)
    }

    pub fn l_remove(
        self_: &mut This,
        key: &Zval,
        value: &Zval,
        count: Option<&Zval>,
    ) -> PhpResult<Zval> {
        Self::l_rem(self_, key, value, count)
    }

    pub fn z_reverse_range(
        self_: &mut This,
        key: &Zval,
        start: &Zval,
        end: &Zval,
        with_scores: Option<&Zval>,
    ) -> PhpResult<Zval> {
        Self::range(self_, "ZREVRANGE", key, start, end, with_scores)
    }

    pub fn z_inter(
        self_: &mut This,
        destination: &Zval,
        keys: &ZendHashTable,
        weights: Option<&Zval>,
        aggregate: Option<&Zval>,
    ) -> PhpResult<Zval> {
        Self::combine_store(self_, "ZINTERSTORE", destination, keys, weights, aggregate)
    }

    pub fn z_union(
        self_: &mut This,
        destination: &Zval,
        keys: &ZendHashTable,
        weights: Option<&Zval>,
        aggregate: Option<&Zval>,
    ) -> PhpResult<Zval> {
        Self::combine_store(self_, "ZUNIONSTORE", destination, keys, weights, aggregate)
    }

    /// `config('GET', $pattern)`: `[node => [name => value]]`, every master's; `config('SET',
    /// $name, $value)`: on every master, `true` when all took it.
    pub fn config(
        self_: &mut This,
        operation: &Zval,
        key: &Zval,
        value: Option<&Zval>,
    ) -> PhpResult<Zval> {
        let operation = arg(operation)?.to_ascii_uppercase();
        let shape = if operation == b"GET" {
            Shape::Pairs
        } else {
            Shape::Bool
        };
        let mut all = vec![b"CONFIG".to_vec(), operation, arg(key)?];
        if let Some(value) = value {
            all.push(arg(value)?);
        }
        Self::run(self_, all, shape)
    }

    // ---- pub/sub -----------------------------------------------------------------------------

    /// `subscribe($channels, $callback)`: calls `$callback($redis, $channel, $message)` for
    /// every message until the callback unsubscribes from every channel (`subscribe.rs`).
    pub fn subscribe(self_: &mut This, channels: &Zval, callback: &Zval) -> PhpResult<Zval> {
        Self::subscribe_loop(self_, Kind::Channels, channels, callback)
    }

    /// `psubscribe($patterns, $callback)`: `$callback($redis, $pattern, $channel, $message)`.
    pub fn psubscribe(self_: &mut This, patterns: &Zval, callback: &Zval) -> PhpResult<Zval> {
        Self::subscribe_loop(self_, Kind::Patterns, patterns, callback)
    }

    /// Inside a `subscribe()` callback: `[channel => true]`; outside, `false`.
    pub fn unsubscribe(self_: &mut This, channels: Option<&Zval>) -> PhpResult<Zval> {
        Self::unsubscribe_from(self_, Kind::Channels, channels)
    }

    pub fn punsubscribe(self_: &mut This, patterns: Option<&Zval>) -> PhpResult<Zval> {
        Self::unsubscribe_from(self_, Kind::Patterns, patterns)
    }

    // ---- strings ---------------------------------------------------------------------------

    /// The value of a key (through the serializer, if one is set), `false` when it has none.
    /// A method of its own rather than a `__call` row: the commonest call skips PHP's
    /// `__call` trampoline and the table lookup.
    pub fn get(self_: &mut This, key: &Zval) -> PhpResult<Zval> {
        Self::call(
            self_,
            Shape::Value,
            |c| {
                c.key(key)?;
                Ok(())
            },
            "GET",
        )
    }

    /// `SET`; `$options` is a TTL in seconds (a float is cut to whole seconds, as phpredis)
    /// or phpredis's array (`['nx', 'ex' => 10]`, `'xx'`, `'px' => ms`, `'exat'`, `'pxat'`,
    /// `'keepttl'`, `'get'`).
    pub fn set(
        self_: &mut This,
        key: &Zval,
        value: &Zval,
        options: Option<&Zval>,
    ) -> PhpResult<Zval> {
        let opts = Self::options(self_)?;
        let mut command = Command::new("SET", &opts);
        command.key(key)?.value(value)?;
        let mut get = false;
        match options.map(Zval::dereference) {
            None => {}
            Some(ttl) if ttl.is_null() => {}
            Some(ttl) if ttl.is_long() || ttl.is_double() => {
                command.word("EX").int(ttl);
            }
            Some(array) if array.is_array() => {
                for (key, item) in array.array().map(entries).unwrap_or_default() {
                    let word = match key {
                        // phpredis skips flags that are not strings ([NULL, 'nx']).
                        Key::Index(_) if !item.dereference().is_string() => continue,
                        Key::Index(_) => arg(item)?,
                        Key::Name(name) => name,
                    };
                    let upper = word.to_ascii_uppercase();
                    match upper.as_slice() {
                        b"NX" | b"XX" | b"KEEPTTL" => {
                            command.word(upper);
                        }
                        b"GET" => {
                            get = true;
                            command.word(upper);
                        }
                        b"EX" | b"PX" | b"EXAT" | b"PXAT" => {
                            let ttl = item.dereference();
                            if !(ttl.is_long() || ttl.is_double() || ttl.is_string()) {
                                return Self::refuse(self_, "SET: a TTL must be a number");
                            }
                            command.word(upper).int(ttl);
                        }
                        // phpredis skips what it does not know.
                        _ => {}
                    }
                }
            }
            // phpredis: a TTL that is neither a number nor an array is refused with false.
            Some(_) => return Self::refuse(self_, "SET options must be a TTL or an array"),
        }
        let args = command.args;
        Self::run(self_, args, if get { Shape::Value } else { Shape::Bool })
    }

    /// `incr($key, $by = 1)`: INCRBY when `$by` is given, as phpredis.
    pub fn incr(self_: &mut This, key: &Zval, by: Option<&Zval>) -> PhpResult<Zval> {
        Self::step(self_, key, by, "INCR", "INCRBY")
    }

    pub fn decr(self_: &mut This, key: &Zval, by: Option<&Zval>) -> PhpResult<Zval> {
        Self::step(self_, key, by, "DECR", "DECRBY")
    }

    /// `setBit($key, $offset, $value)`: phpredis sends the value as 0 or 1.
    pub fn set_bit(self_: &mut This, key: &Zval, offset: &Zval, value: &Zval) -> PhpResult<Zval> {
        let bit = if value.dereference().coerce_to_bool() {
            "1"
        } else {
            "0"
        };
        Self::call(
            self_,
            Shape::Raw,
            |c| {
                c.key(key)?.int(offset).word(bit);
                Ok(())
            },
            "SETBIT",
        )
    }

    /// Values in the order of `$keys`, `false` for a missing key.
    pub fn m_get(self_: &mut This, keys: &ZendHashTable) -> PhpResult<Zval> {
        let keys = values(keys);
        if keys.is_empty() {
            return Self::refuse(self_, "mGet needs at least one key");
        }
        let client = Self::this(self_)?;
        if client.queue.is_none() && client.options.codec.is_plain() {
            // The common case: values become PHP strings straight from the read buffer.
            let (cluster, options) = (client.cluster.handle(), client.options.clone());
            let mut args = Vec::with_capacity(keys.len() + 1);
            args.push(Arg::Borrowed(b"MGET"));
            for key in keys {
                args.push(match options.prefix.is_empty() {
                    true => arg_ref(key)?,
                    false => Arg::Owned(options.key(arg(key)?)),
                });
            }
            let mut last_error = None;
            let out = plain_values(&cluster, &args, &options, &mut last_error);
            Self::keep_error(self_, last_error);
            return out;
        }
        Self::call(
            self_,
            Shape::Values,
            |c| {
                for key in keys {
                    c.key(key)?;
                }
                Ok(())
            },
            "MGET",
        )
    }

    /// `['key' => 'value', ...]`, split over the masters.
    pub fn m_set(self_: &mut This, pairs: &ZendHashTable) -> PhpResult<Zval> {
        Self::multi_set(self_, "MSET", pairs)
    }

    pub fn m_set_nx(self_: &mut This, pairs: &ZendHashTable) -> PhpResult<Zval> {
        Self::multi_set(self_, "MSETNX", pairs)
    }

    // ---- keys ------------------------------------------------------------------------------

    /// DEL of keys given one by one or as an array: how many existed.
    pub fn del(self_: &mut This, keys: &[&Zval]) -> PhpResult<Zval> {
        Self::keys_command(self_, "DEL", keys)
    }

    pub fn delete(self_: &mut This, keys: &[&Zval]) -> PhpResult<Zval> {
        Self::keys_command(self_, "DEL", keys)
    }

    pub fn unlink(self_: &mut This, keys: &[&Zval]) -> PhpResult<Zval> {
        Self::keys_command(self_, "UNLINK", keys)
    }

    /// How many of the keys exist (an int, as phpredis 4+).
    pub fn exists(self_: &mut This, keys: &[&Zval]) -> PhpResult<Zval> {
        Self::keys_command(self_, "EXISTS", keys)
    }

    /// `object('encoding' | 'refcount' | 'idletime' | 'freq', $key)`; `false` for a missing key.
    pub fn object(self_: &mut This, subcommand: &Zval, key: &Zval) -> PhpResult<Zval> {
        Self::call(
            self_,
            Shape::Raw,
            |c| {
                c.text(subcommand)?.key(key)?;
                Ok(())
            },
            "OBJECT",
        )
    }

    /// `sort($key, ['by' => ..., 'limit' => [$offset, $count], 'get' => ..., 'sort' =>
    /// 'asc'|'desc', 'alpha' => bool, 'store' => $destination])`.
    pub fn sort(self_: &mut This, key: &Zval, options: Option<&ZendHashTable>) -> PhpResult<Zval> {
        let opts = Self::options(self_)?;
        let mut command = Command::new("SORT", &opts);
        command.key(key)?;
        let mut store = false;
        if let Some(options) = options {
            for (name, value) in entries(options) {
                if value.dereference().is_null() {
                    continue; // phpredis: an option set to null is not given
                }
                let name = String::from_utf8_lossy(&name.into_bytes()).to_ascii_lowercase();
                match name.as_str() {
                    // phpredis sends BY and GET patterns as written (no prefix).
                    "by" => {
                        command.word("BY").text(value)?;
                    }
                    "limit" => {
                        let limit = list_or_one(value);
                        command.word("LIMIT");
                        for item in limit.iter().take(2) {
                            command.int(item);
                        }
                    }
                    "get" => {
                        for pattern in list_or_one(value) {
                            command.word("GET").text(pattern)?;
                        }
                    }
                    "sort" => {
                        command.word(arg(value)?.to_ascii_uppercase());
                    }
                    "alpha" => {
                        if value.dereference().coerce_to_bool() {
                            command.word("ALPHA");
                        }
                    }
                    "store" => {
                        store = true;
                        command.word("STORE").key(value)?;
                    }
                    other => {
                        return Err(invalid(format!("sort: unknown option '{other}'")));
                    }
                }
            }
        }
        let args = command.args;
        Self::run(self_, args, if store { Shape::Raw } else { Shape::Values })
    }

    /// `sInterCard($keys, $limit = -1)`: how many members the sets have in common (SINTERCARD
    /// numkeys key... [LIMIT limit]).
    pub fn s_inter_card(
        self_: &mut This,
        keys: &ZendHashTable,
        limit: Option<i64>,
    ) -> PhpResult<Zval> {
        let keys = values(keys);
        Self::call(
            self_,
            Shape::Raw,
            |c| {
                c.word(keys.len().to_string());
                for key in &keys {
                    c.key(key)?;
                }
                if let Some(limit) = limit.filter(|l| *l >= 0) {
                    c.word("LIMIT").word(limit.to_string());
                }
                Ok(())
            },
            "SINTERCARD",
        )
    }

    // ---- hashes ----------------------------------------------------------------------------

    /// `hSet($key, $field, $value)` or `hSet($key, [$field => $value, ...])`.
    pub fn h_set(self_: &mut This, key: &Zval, rest: &[&Zval]) -> PhpResult<Zval> {
        Self::call(
            self_,
            Shape::Raw,
            |c| {
                c.key(key)?;
                match rest {
                    [pairs] if pairs.dereference().is_array() => {
                        c.pairs(
                            pairs
                                .dereference()
                                .array()
                                .unwrap_or_else(|| unreachable!()),
                        )?;
                    }
                    _ => {
                        for pair in rest.chunks(2) {
                            c.text(pair[0])?;
                            if let Some(value) = pair.get(1) {
                                c.value(value)?;
                            }
                        }
                    }
                }
                Ok(())
            },
            "HSET",
        )
    }

    pub fn h_get_all(self_: &mut This, key: &Zval) -> PhpResult<Zval> {
        Self::call(
            self_,
            Shape::Pairs,
            |c| {
                c.key(key)?;
                Ok(())
            },
            "HGETALL",
        )
    }

    pub fn h_m_set(self_: &mut This, key: &Zval, pairs: &ZendHashTable) -> PhpResult<Zval> {
        if pairs.is_empty() {
            return Self::refuse(self_, "hMSet needs at least one field");
        }
        let client = Self::this(self_)?;
        if client.options.prefix.is_empty() && client.options.codec.is_plain() {
            let entries = entries_ref(pairs);
            if entries
                .iter()
                .all(|(_, v)| !(v.dereference().is_array() || v.dereference().is_object()))
            {
                let args = pair_args(vec![Arg::Borrowed(b"HSET"), arg_ref(key)?], &entries)?;
                return Self::run(self_, args, Shape::Bool);
            }
        }
        Self::call(
            self_,
            Shape::Bool,
            |c| {
                c.key(key)?.pairs(pairs)?;
                Ok(())
            },
            "HSET",
        )
    }

    /// `[field => value]`, `false` for a missing field. Fields that are not strings or
    /// numbers, and empty ones, are skipped, as phpredis does; with none left, `false`.
    pub fn h_m_get(self_: &mut This, key: &Zval, fields: &ZendHashTable) -> PhpResult<Zval> {
        let mut names = Vec::with_capacity(fields.len());
        for field in values(fields) {
            let field = field.dereference();
            if field.is_string() || field.is_long() || field.is_double() {
                let name = arg(field)?;
                if !name.is_empty() {
                    names.push(name);
                }
            }
        }
        if names.is_empty() {
            return Self::refuse(self_, "hMGet needs at least one field");
        }
        Self::call(
            self_,
            Shape::HashFields,
            |c| {
                c.key(key)?;
                for name in names {
                    c.word(name);
                }
                Ok(())
            },
            "HMGET",
        )
    }

    // ---- lists -----------------------------------------------------------------------------

    /// `lRem($key, $value, $count = 0)`: phpredis's order, sent as LREM key count value.
    pub fn l_rem(
        self_: &mut This,
        key: &Zval,
        value: &Zval,
        count: Option<&Zval>,
    ) -> PhpResult<Zval> {
        Self::call(
            self_,
            Shape::Raw,
            |c| {
                c.key(key)?;
                match count {
                    Some(count) => c.int(count),
                    None => c.word("0"),
                };
                c.value(value)?;
                Ok(())
            },
            "LREM",
        )
    }

    // ---- sorted sets -----------------------------------------------------------------------

    /// `zAdd($key, [options,] $score1, $member1, ...)` or `zAdd($key, [options], [member => score])`.
    pub fn z_add(self_: &mut This, key: &Zval, rest: &[&Zval]) -> PhpResult<Zval> {
        let opts = Self::options(self_)?;
        let mut command = Command::new("ZADD", &opts);
        command.key(key)?;
        let mut rest = rest.iter().map(|z| z.dereference()).peekable();
        // A first array that is a list holds the options (NX, XX, GT, LT, CH, INCR).
        if let Some(options) = rest
            .peek()
            .and_then(|z| z.array())
            .filter(|a| crate::array::is_list(a))
        {
            for option in values(options) {
                command.word(arg(option)?.to_ascii_uppercase());
            }
            rest.next();
        }
        let rest: Vec<&Zval> = rest.collect();
        for (i, value) in rest.iter().enumerate() {
            // Where a score goes, an array is `[member => score, ...]`; where a member goes,
            // it is the member (serialized, or "Array"), as phpredis takes it.
            if let Some(members) = value.array().filter(|_| i % 2 == 0) {
                for (member, score) in entries(members) {
                    command.float(score)?;
                    let member = member.into_bytes();
                    let mut member_zval = Zval::new();
                    member_zval.set_binary(member);
                    command.value(&member_zval)?;
                }
            } else if i % 2 == 0 {
                command.float(value)?;
            } else {
                command.value(value)?;
            }
        }
        let incr = command.args.iter().any(|a| a == b"INCR");
        let args = command.args;
        Self::run(self_, args, if incr { Shape::Float } else { Shape::Raw })
    }

    /// Members by rank; with `$withScores`, `[member => score]`.
    pub fn z_range(
        self_: &mut This,
        key: &Zval,
        start: &Zval,
        end: &Zval,
        with_scores: Option<&Zval>,
    ) -> PhpResult<Zval> {
        Self::range(self_, "ZRANGE", key, start, end, with_scores)
    }

    pub fn z_rev_range(
        self_: &mut This,
        key: &Zval,
        start: &Zval,
        end: &Zval,
        with_scores: Option<&Zval>,
    ) -> PhpResult<Zval> {
        Self::range(self_, "ZREVRANGE", key, start, end, with_scores)
    }

    /// `zRangeByScore($key, $min, $max, ['withscores' => true, 'limit' => [$offset, $count]])`.
    pub fn z_range_by_score(
        self_: &mut This,
        key: &Zval,
        min: &Zval,
        max: &Zval,
        options: Option<&ZendHashTable>,
    ) -> PhpResult<Zval> {
        Self::by_score(self_, "ZRANGEBYSCORE", key, min, max, options)
    }

    pub fn z_rev_range_by_score(
        self_: &mut This,
        key: &Zval,
        max: &Zval,
        min: &Zval,
        options: Option<&ZendHashTable>,
    ) -> PhpResult<Zval> {
        Self::by_score(self_, "ZREVRANGEBYSCORE", key, max, min, options)
    }

    /// `zRangeByLex($key, $min, $max, $offset = -1, $count = -1)`.
    pub fn z_range_by_lex(
        self_: &mut This,
        key: &Zval,
        min: &Zval,
        max: &Zval,
        offset: Option<i64>,
        count: Option<i64>,
    ) -> PhpResult<Zval> {
        Self::by_lex(self_, "ZRANGEBYLEX", key, min, max, offset, count)
    }

    pub fn z_rev_range_by_lex(
        self_: &mut This,
        key: &Zval,
        max: &Zval,
        min: &Zval,
        offset: Option<i64>,
        count: Option<i64>,
    ) -> PhpResult<Zval> {
        Self::by_lex(self_, "ZREVRANGEBYLEX", key, max, min, offset, count)
    }

    /// `zUnionStore($destination, $keys, $weights = null, $aggregate = null)`.
    pub fn z_union_store(
        self_: &mut This,
        destination: &Zval,
        keys: &ZendHashTable,
        weights: Option<&Zval>,
        aggregate: Option<&Zval>,
    ) -> PhpResult<Zval> {
        Self::combine_store(self_, "ZUNIONSTORE", destination, keys, weights, aggregate)
    }

    pub fn z_inter_store(
        self_: &mut This,
        destination: &Zval,
        keys: &ZendHashTable,
        weights: Option<&Zval>,
        aggregate: Option<&Zval>,
    ) -> PhpResult<Zval> {
        Self::combine_store(self_, "ZINTERSTORE", destination, keys, weights, aggregate)
    }

    // ---- scripting -------------------------------------------------------------------------

    /// `eval($script, $args = [], $numKeys = 0)`: the first `$numKeys` of `$args` are keys
    /// (prefixed, and they decide the master).
    pub fn eval(
        self_: &mut This,
        script: &Zval,
        args: Option<&ZendHashTable>,
        num_keys: Option<i64>,
    ) -> PhpResult<Zval> {
        Self::script_call(self_, "EVAL", script, args, num_keys)
    }

    #[php(name = "evalsha")]
    pub fn eval_sha(
        self_: &mut This,
        sha: &Zval,
        args: Option<&ZendHashTable>,
        num_keys: Option<i64>,
    ) -> PhpResult<Zval> {
        Self::script_call(self_, "EVALSHA", sha, args, num_keys)
    }

    /// `script('load' | 'exists' | 'flush' | 'kill', ...$args)`, on every master.
    pub fn script(self_: &mut This, command: &Zval, args: &[&Zval]) -> PhpResult<Zval> {
        let subcommand = arg(command)?.to_ascii_uppercase();
        let shape = match subcommand.as_slice() {
            b"EXISTS" => Shape::NodesAllExist,
            b"FLUSH" | b"KILL" => Shape::NodesAllOk,
            _ => Shape::Raw,
        };
        let mut all = vec![b"SCRIPT".to_vec(), subcommand];
        flatten(args, &mut all)?;
        Self::run(self_, all, shape)
    }

    // ---- server ----------------------------------------------------------------------------

    /// `ping()` is `true` (phpredis), `ping($message)` the message.
    pub fn ping(self_: &mut This, message: Option<&Zval>) -> PhpResult<Zval> {
        match message.map(Zval::dereference).filter(|m| !m.is_null()) {
            None => Self::run(self_, vec![b"PING".to_vec()], Shape::Raw),
            Some(message) => Self::run(self_, vec![b"PING".to_vec(), arg(message)?], Shape::Raw),
        }
    }

    /// `auth($password)` or `auth([$username, $password])`: every connection of this client
    /// authenticates so. A refused login throws, as phpredis does.
    pub fn auth(self_: &mut This, credentials: &Zval) -> PhpResult<Zval> {
        let mut args = vec![b"AUTH".to_vec()];
        for part in list_or_one(credentials) {
            if !part.dereference().is_null() {
                args.push(arg(part)?);
            }
        }
        let client = Self::this(self_)?;
        match client.cluster.execute(&args) {
            Ok(Value::ServerError(error)) => Err(server_exception(ClusterError::Server {
                node: String::new(),
                error,
            })),
            Ok(_) => zval_of(true),
            Err(error @ (ClusterError::Server { .. } | ClusterError::Command(_))) => {
                Err(server_exception(error))
            }
            Err(error) => Err(exception(error)),
        }
    }

    /// `select($db)`: every later command of this client runs on database `$db`.
    pub fn select(self_: &mut This, db: i64) -> PhpResult<Zval> {
        if db < 0 {
            return Self::refuse(self_, "ERR DB index is out of range");
        }
        Self::run(
            self_,
            vec![b"SELECT".to_vec(), db.to_string().into_bytes()],
            Shape::Bool,
        )
    }

    /// INFO of every master: `['node_1' => [...], ...]`.
    pub fn info(self_: &mut This, sections: &[&Zval]) -> PhpResult<Zval> {
        let mut args = vec![b"INFO".to_vec()];
        flatten(sections, &mut args)?;
        Self::run(self_, args, Shape::Info)
    }

    /// `slowlog('get' [, $count]) | slowlog('len') | slowlog('reset')`, on every master.
    pub fn slowlog(self_: &mut This, command: &Zval, args: &[&Zval]) -> PhpResult<Zval> {
        let subcommand = arg(command)?.to_ascii_uppercase();
        let shape = match subcommand.as_slice() {
            b"GET" => Shape::NodesConcat,
            b"LEN" => Shape::NodesSum,
            b"RESET" => Shape::NodesAllOk,
            _ => Shape::Raw,
        };
        let mut all = vec![b"SLOWLOG".to_vec(), subcommand];
        flatten(args, &mut all)?;
        Self::run(self_, all, shape)
    }

    /// `client('list' | 'getname' | 'setname' | 'kill' | ..., ...$args)`.
    pub fn client(self_: &mut This, command: &Zval, args: &[&Zval]) -> PhpResult<Zval> {
        let subcommand = arg(command)?.to_ascii_uppercase();
        let shape = match subcommand.as_slice() {
            b"LIST" => Shape::ClientList,
            _ => Shape::Raw,
        };
        let mut all = vec![b"CLIENT".to_vec(), subcommand];
        flatten(args, &mut all)?;
        Self::run(self_, all, shape)
    }

    /// `acl($subcommand, ...$args)`, on every master.
    pub fn acl(self_: &mut This, command: &Zval, args: &[&Zval]) -> PhpResult<Zval> {
        let subcommand = arg(command)?.to_ascii_uppercase();
        let reset = args
            .first()
            .is_some_and(|a| arg(a).is_ok_and(|a| a.eq_ignore_ascii_case(b"RESET")));
        let shape = match subcommand.as_slice() {
            b"GETUSER" => Shape::Pairs,
            b"LOG" if !reset => Shape::PairsEach,
            b"LOG" => Shape::NodesAllOk,
            _ => Shape::Raw,
        };
        let mut all = vec![b"ACL".to_vec(), subcommand];
        flatten(args, &mut all)?;
        Self::run(self_, all, shape)
    }

    /// `pubsub('channels' [, $pattern]) | pubsub('numsub', $channels) | pubsub('numpat')`;
    /// NUMSUB gives `[channel => count]`, as phpredis.
    pub fn pubsub(self_: &mut This, command: &Zval, argument: Option<&Zval>) -> PhpResult<Zval> {
        let command = arg(command)?.to_ascii_uppercase();
        if command == b"NUMSUB" && !argument.is_some_and(|a| a.dereference().is_array()) {
            return Self::refuse(self_, "pubsub('numsub', $channels): $channels is an array");
        }
        let mut all = vec![b"PUBSUB".to_vec(), command.clone()];
        if let Some(argument) = argument {
            flatten(&[argument], &mut all)?;
        }
        let shape = match command.as_slice() {
            b"CHANNELS" => Shape::NodesUnion,
            b"NUMSUB" => Shape::NodesSumPairs,
            b"NUMPAT" => Shape::NodesSum,
            _ => Shape::Raw,
        };
        Self::run(self_, all, shape)
    }

    /// `scan(&$iterator, $pattern = null, $count = 0, $type = null)`: the next keys of a walk
    /// over every master, or `false` when the walk is over (`$iterator` is then 0). With
    /// `OPT_SCAN = SCAN_RETRY`, empty steps are skipped.
    pub fn scan(
        self_: &mut This,
        iterator: PhpRef,
        pattern: Option<&Zval>,
        count: Option<i64>,
        kind: Option<&Zval>,
    ) -> PhpResult<Zval> {
        let options = Self::options(self_)?;
        let pattern = match pattern.map(Zval::dereference).filter(|p| !p.is_null()) {
            Some(pattern) if options.scan_prefix => Some(options.key(arg(pattern)?)),
            Some(pattern) => Some(arg(pattern)?),
            None if options.scan_prefix && !options.prefix.is_empty() => {
                Some(options.key(b"*".to_vec()))
            }
            None => None,
        };
        let mut tail = Vec::new();
        if let Some(kind) = kind.map(Zval::dereference).filter(|k| !k.is_null()) {
            tail.push(b"TYPE".to_vec());
            tail.push(arg(kind)?);
        }
        Self::walk(
            self_,
            vec![b"SCAN".to_vec()],
            iterator,
            pattern,
            count,
            tail,
            Shape::List,
        )
    }

    /// `hScan($key, &$iterator, $pattern = null, $count = 0)`: `[field => value]` per step.
    pub fn h_scan(
        self_: &mut This,
        key: &Zval,
        iterator: PhpRef,
        pattern: Option<&Zval>,
        count: Option<i64>,
    ) -> PhpResult<Zval> {
        Self::key_walk(self_, "HSCAN", key, iterator, pattern, count, Shape::Pairs)
    }

    /// `sScan($key, &$iterator, $pattern = null, $count = 0)`: members per step.
    pub fn s_scan(
        self_: &mut This,
        key: &Zval,
        iterator: PhpRef,
        pattern: Option<&Zval>,
        count: Option<i64>,
    ) -> PhpResult<Zval> {
        Self::key_walk(self_, "SSCAN", key, iterator, pattern, count, Shape::Values)
    }

    /// `zScan($key, &$iterator, $pattern = null, $count = 0)`: `[member => score]` per step.
    pub fn z_scan(
        self_: &mut This,
        key: &Zval,
        iterator: PhpRef,
        pattern: Option<&Zval>,
        count: Option<i64>,
    ) -> PhpResult<Zval> {
        Self::key_walk(self_, "ZSCAN", key, iterator, pattern, count, Shape::Scores)
    }

    /// Any command as written (no prefix, no serializer: phpredis's `rawCommand`), its reply
    /// in phpredis's generic shape.
    pub fn raw_command(self_: &mut This, command: &Zval, args: &[&Zval]) -> PhpResult<Zval> {
        let mut all: Vec<Vec<u8>> = String::from_utf8_lossy(&arg(command)?)
            .split(' ')
            .map(|w| w.as_bytes().to_vec())
            .collect();
        flatten(args, &mut all)?;
        let shape = if replies_nil_list(&all[0]) {
            Shape::List
        } else {
            Shape::Raw
        };
        Self::run(self_, all, shape)
    }

    /// phpredis's other methods (`sAdd`, `lRange`, `expire`, ...), case-insensitive.
    pub fn __call(self_: &mut This, name: String, arguments: &ZendHashTable) -> PhpResult<Zval> {
        let Some(method) = generic_method(&name) else {
            return Err(invalid(format!(
                "Call to undefined method RedisCluster\\RedisCluster::{name}()"
            )));
        };
        let given = values(arguments);
        Self::call(
            self_,
            method.shape,
            |c| {
                c.pattern(method, &given)?;
                Ok(())
            },
            method.command,
        )
    }

    // ---- the commonest table rows, as methods of their own -------------------------------
    // Each runs its `methods.rs` row, as `__call` would; being a method skips PHP's `__call`
    // trampoline and the name's conversion and lookup (for GET, 1,700 of 5,800 instructions).

    /// Seconds to live, `-1` without a TTL, `-2` for a missing key.
    pub fn ttl(self_: &mut This, key: &Zval) -> PhpResult<Zval> {
        Self::row(self_, "ttl", &[key])
    }

    /// `EXPIRE`, with Redis 7's `NX`/`XX`/`GT`/`LT` as `$mode`.
    #[php(optional = mode)]
    pub fn expire(
        self_: &mut This,
        key: &Zval,
        timeout: &Zval,
        mode: Option<&Zval>,
    ) -> PhpResult<Zval> {
        let mut given = vec![key, timeout];
        given.extend(mode);
        Self::row(self_, "expire", &given)
    }

    pub fn incr_by(self_: &mut This, key: &Zval, value: &Zval) -> PhpResult<Zval> {
        Self::row(self_, "incrby", &[key, value])
    }

    pub fn decr_by(self_: &mut This, key: &Zval, value: &Zval) -> PhpResult<Zval> {
        Self::row(self_, "decrby", &[key, value])
    }

    pub fn setex(self_: &mut This, key: &Zval, expire: &Zval, value: &Zval) -> PhpResult<Zval> {
        Self::row(self_, "setex", &[key, expire, value])
    }

    pub fn setnx(self_: &mut This, key: &Zval, value: &Zval) -> PhpResult<Zval> {
        Self::row(self_, "setnx", &[key, value])
    }

    pub fn h_get(self_: &mut This, key: &Zval, member: &Zval) -> PhpResult<Zval> {
        Self::row(self_, "hget", &[key, member])
    }

    pub fn h_exists(self_: &mut This, key: &Zval, member: &Zval) -> PhpResult<Zval> {
        Self::row(self_, "hexists", &[key, member])
    }

    pub fn h_incr_by(self_: &mut This, key: &Zval, member: &Zval, value: &Zval) -> PhpResult<Zval> {
        Self::row(self_, "hincrby", &[key, member, value])
    }

    pub fn h_len(self_: &mut This, key: &Zval) -> PhpResult<Zval> {
        Self::row(self_, "hlen", &[key])
    }

    pub fn h_del(
        self_: &mut This,
        key: &Zval,
        member: &Zval,
        other_members: &[&Zval],
    ) -> PhpResult<Zval> {
        let mut given = vec![key, member];
        given.extend_from_slice(other_members);
        Self::row(self_, "hdel", &given)
    }

    pub fn l_push(self_: &mut This, key: &Zval, elements: &[&Zval]) -> PhpResult<Zval> {
        let mut given = vec![key];
        given.extend_from_slice(elements);
        Self::row(self_, "lpush", &given)
    }

    pub fn r_push(self_: &mut This, key: &Zval, elements: &[&Zval]) -> PhpResult<Zval> {
        let mut given = vec![key];
        given.extend_from_slice(elements);
        Self::row(self_, "rpush", &given)
    }

    #[php(optional = count)]
    pub fn l_pop(self_: &mut This, key: &Zval, count: Option<&Zval>) -> PhpResult<Zval> {
        let mut given = vec![key];
        given.extend(count);
        Self::row(self_, "lpop", &given)
    }

    #[php(optional = count)]
    pub fn r_pop(self_: &mut This, key: &Zval, count: Option<&Zval>) -> PhpResult<Zval> {
        let mut given = vec![key];
        given.extend(count);
        Self::row(self_, "rpop", &given)
    }

    pub fn l_len(self_: &mut This, key: &Zval) -> PhpResult<Zval> {
        Self::row(self_, "llen", &[key])
    }

    pub fn l_range(self_: &mut This, key: &Zval, start: &Zval, end: &Zval) -> PhpResult<Zval> {
        Self::row(self_, "lrange", &[key, start, end])
    }

    pub fn s_add(
        self_: &mut This,
        key: &Zval,
        value: &Zval,
        other_values: &[&Zval],
    ) -> PhpResult<Zval> {
        let mut given = vec![key, value];
        given.extend_from_slice(other_values);
        Self::row(self_, "sadd", &given)
    }

    pub fn s_rem(
        self_: &mut This,
        key: &Zval,
        value: &Zval,
        other_values: &[&Zval],
    ) -> PhpResult<Zval> {
        let mut given = vec![key, value];
        given.extend_from_slice(other_values);
        Self::row(self_, "srem", &given)
    }

    pub fn s_is_member(self_: &mut This, key: &Zval, value: &Zval) -> PhpResult<Zval> {
        Self::row(self_, "sismember", &[key, value])
    }

    pub fn s_members(self_: &mut This, key: &Zval) -> PhpResult<Zval> {
        Self::row(self_, "smembers", &[key])
    }

    pub fn s_card(self_: &mut This, key: &Zval) -> PhpResult<Zval> {
        Self::row(self_, "scard", &[key])
    }

    pub fn z_score(self_: &mut This, key: &Zval, member: &Zval) -> PhpResult<Zval> {
        Self::row(self_, "zscore", &[key, member])
    }

    pub fn z_card(self_: &mut This, key: &Zval) -> PhpResult<Zval> {
        Self::row(self_, "zcard", &[key])
    }

    pub fn publish(self_: &mut This, channel: &Zval, message: &Zval) -> PhpResult<Zval> {
        Self::row(self_, "publish", &[channel, message])
    }

    // ---- pipelines and transactions --------------------------------------------------------

    /// Starts queueing: commands return `$this` until `exec()` sends them, per master in one
    /// batch each. A second call is a no-op, as in phpredis.
    pub fn pipeline(self_: &mut This) -> PhpResult<Zval> {
        let client = Self::this(self_)?;
        if client.queue.is_none() {
            client.queue = Some(Queue {
                pipeline: true,
                steps: Vec::new(),
                transaction: None,
            });
        }
        self_.into_zval(false).map_err(|e| invalid(e.to_string()))
    }

    /// `multi($mode = Redis::MULTI)`: a transaction (MULTI/EXEC on the one master that owns
    /// all its keys: give them one hash tag), or with `Redis::PIPELINE` a pipeline. Inside a
    /// pipeline, `multi()` opens a transaction that the next `exec()` closes.
    pub fn multi(self_: &mut This, mode: Option<i64>) -> PhpResult<Zval> {
        let mode = mode.unwrap_or(MULTI);
        if mode == PIPELINE {
            return Self::pipeline(self_);
        }
        if mode != MULTI {
            return Err(invalid(format!(
                "multi(): the mode is Redis::MULTI or Redis::PIPELINE, got {mode}"
            )));
        }
        let client = Self::this(self_)?;
        match client.queue.as_mut() {
            None => {
                client.queue = Some(Queue {
                    pipeline: false,
                    steps: Vec::new(),
                    transaction: Some(Vec::new()),
                });
            }
            Some(queue) if queue.transaction.is_none() => queue.transaction = Some(Vec::new()),
            // Already in a transaction: a no-op, as in phpredis.
            Some(_) => {}
        }
        self_.into_zval(false).map_err(|e| invalid(e.to_string()))
    }

    /// Runs what was queued: one reply per command (`false` where a command failed); a
    /// transaction's replies, or `false` when it was aborted. In a pipeline, `exec()` after
    /// `multi()` closes that transaction and returns `$this`.
    pub fn exec(self_: &mut This) -> PhpResult<Zval> {
        let client = Self::this(self_)?;
        let Some(mut queue) = client.queue.take() else {
            return Ok(false_zval());
        };
        if queue.pipeline {
            if let Some(transaction) = queue.transaction.take() {
                queue.steps.push(Step::Transaction(transaction));
                client.queue = Some(queue);
                return self_.into_zval(false).map_err(|e| invalid(e.to_string()));
            }
            // As in `run`: own handles, since shaping replies may run PHP code.
            let (cluster, options) = (client.cluster.handle(), client.options.clone());
            let mut watch = client.watch.take();
            let mut last_error = None;
            let out = run_steps(&cluster, queue.steps, &mut watch, &options, &mut last_error);
            Self::keep_error(self_, last_error);
            // A watch no transaction of the pipeline used stays for the next `multi()`.
            if let (Some(watch), Some(client)) = (watch, self_.obj.as_mut()) {
                client.watch = Some(watch);
            }
            return out;
        }
        let commands = queue.transaction.unwrap_or_default();
        let (cluster, options) = (client.cluster.handle(), client.options.clone());
        let mut last_error = None;
        let watch = client.watch.take();
        let out = run_transaction(&cluster, watch, commands, &options, &mut last_error);
        Self::keep_error(self_, last_error);
        out
    }

    /// Drops what was queued (and, like Redis's DISCARD, what was watched): `true`, or
    /// `false` when nothing was queued.
    pub fn discard(&mut self) -> bool {
        if let Some(watch) = self.watch.take() {
            // A failed UNWATCH closes the connection: nothing stays watched either way.
            let _ = watch.unwatch();
        }
        self.queue.take().is_some()
    }

    /// `watch($key, ...$keys)`: optimistic locking. The keys must live on one master (give
    /// them one hash tag); its connection is held until `exec()`, `unwatch()` or
    /// `discard()`, and `exec()` of the next `multi()` returns `false` if one of them changed.
    pub fn watch(self_: &mut This, keys: &[&Zval]) -> PhpResult<Zval> {
        let options = Self::options(self_)?;
        let mut command = Command::new("WATCH", &options);
        command.each(b'k', keys)?;
        let keys = &command.args[1..];
        let client = Self::this(self_)?;
        let result = match client.watch.as_mut() {
            Some(watch) => watch.watch_more(keys),
            None => client.cluster.watch(keys).map(|watch| {
                client.watch = Some(watch);
            }),
        };
        shaped(
            &[b"WATCH"],
            result.map(|()| Value::Okay),
            Shape::Bool,
            &client.options,
            &mut client.last_error,
        )
    }

    /// Forgets the watched keys and gives their connection back.
    pub fn unwatch(&mut self) -> PhpResult<bool> {
        match self.watch.take() {
            Some(watch) => watch.unwatch().map(|()| true).map_err(exception),
            None => Ok(true),
        }
    }

    /// The mode: `Redis::ATOMIC`, `Redis::MULTI` or `Redis::PIPELINE`.
    pub fn get_mode(&self) -> i64 {
        match &self.queue {
            None => ATOMIC,
            Some(queue) if queue.pipeline => PIPELINE,
            Some(_) => MULTI,
        }
    }

    // ---- streams and geo (streams.rs, geo.rs) ----

    /// `xAdd($key, $id, [$field => $value], $maxlen = 0, $approx = false, $nomkstream = false)`:
    /// the entry's ID; values serialized.
    pub fn x_add(
        self_: &mut This,
        key: &Zval,
        id: &Zval,
        values: &ZendHashTable,
        maxlen: Option<i64>,
        approx: Option<bool>,
        nomkstream: Option<bool>,
    ) -> PhpResult<Zval> {
        Self::x_add_impl(self_, key, id, values, maxlen, approx, nomkstream)
    }

    /// `xRange($key, $start, $end, $count = -1)`: `[id => [field => value]]`.
    pub fn x_range(
        self_: &mut This,
        key: &Zval,
        start: &Zval,
        end: &Zval,
        count: Option<i64>,
    ) -> PhpResult<Zval> {
        Self::x_range_impl(self_, "XRANGE", key, start, end, count)
    }

    /// `xRevRange($key, $end, $start, $count = -1)`: `[id => [field => value]]`, newest first.
    pub fn x_rev_range(
        self_: &mut This,
        key: &Zval,
        end: &Zval,
        start: &Zval,
        count: Option<i64>,
    ) -> PhpResult<Zval> {
        Self::x_range_impl(self_, "XREVRANGE", key, end, start, count)
    }

    /// `xDel($key, $ids)`: how many entries were deleted (`false` for no IDs).
    pub fn x_del(self_: &mut This, key: &Zval, ids: &ZendHashTable) -> PhpResult<Zval> {
        Self::x_del_impl(self_, key, ids)
    }

    /// `xTrim($key, $threshold, $approx = false, $minid = false, $limit = -1)`: how many
    /// entries were removed.
    pub fn x_trim(
        self_: &mut This,
        key: &Zval,
        threshold: &Zval,
        approx: Option<bool>,
        minid: Option<bool>,
        limit: Option<i64>,
    ) -> PhpResult<Zval> {
        Self::x_trim_impl(self_, key, threshold, approx, minid, limit)
    }

    /// `xAck($key, $group, $ids)`: how many entries were acknowledged (`false` for no IDs).
    pub fn x_ack(
        self_: &mut This,
        key: &Zval,
        group: &Zval,
        ids: &ZendHashTable,
    ) -> PhpResult<Zval> {
        Self::x_ack_impl(self_, key, group, ids)
    }

    /// `xGroup($operation, $key = null, $group = null, $id_or_consumer = null,
    /// $mkstream = false, $entries_read = -2)`: CREATE, SETID, DESTROY, CREATECONSUMER,
    /// DELCONSUMER, HELP.
    pub fn x_group(
        self_: &mut This,
        operation: &Zval,
        key: Option<&Zval>,
        group: Option<&Zval>,
        id_or_consumer: Option<&Zval>,
        mkstream: Option<&Zval>,
        entries_read: Option<i64>,
    ) -> PhpResult<Zval> {
        Self::x_group_impl(
            self_,
            operation,
            key,
            group,
            id_or_consumer,
            mkstream,
            entries_read,
        )
    }

    /// `xInfo('STREAM' | 'GROUPS' | 'CONSUMERS', $key, $arg = null, $count = -1)`: phpredis's
    /// nested arrays (`xInfo('STREAM', $key, 'FULL', $count)` for the full form).
    pub fn x_info(
        self_: &mut This,
        operation: &Zval,
        arg1: Option<&Zval>,
        arg2: Option<&Zval>,
        count: Option<i64>,
    ) -> PhpResult<Zval> {
        Self::x_info_impl(self_, operation, arg1, arg2, count)
    }

    /// `xPending($key, $group, $start = null, $end = null, $count = -1, $consumer = null,
    /// $idle = 0)`: the summary, or the pending entries of the range.
    #[allow(clippy::too_many_arguments)]
    pub fn x_pending(
        self_: &mut This,
        key: &Zval,
        group: &Zval,
        start: Option<&Zval>,
        end: Option<&Zval>,
        count: Option<i64>,
        consumer: Option<&Zval>,
        idle: Option<i64>,
    ) -> PhpResult<Zval> {
        Self::x_pending_impl(self_, key, group, start, end, count, consumer, idle)
    }

    /// `xRead([$stream => $id], $count = -1, $block = -1)`: `[stream => [id => fields]]`; the
    /// streams of one call must share a master (give them a hash tag).
    pub fn x_read(
        self_: &mut This,
        streams: &ZendHashTable,
        count: Option<&Zval>,
        block: Option<&Zval>,
    ) -> PhpResult<Zval> {
        Self::x_read_impl(self_, streams, count, block)
    }

    /// `xReadGroup($group, $consumer, [$stream => $id], $count = null, $block = null)`.
    pub fn x_read_group(
        self_: &mut This,
        group: &Zval,
        consumer: &Zval,
        streams: &ZendHashTable,
        count: Option<&Zval>,
        block: Option<&Zval>,
    ) -> PhpResult<Zval> {
        Self::x_read_group_impl(self_, group, consumer, streams, count, block)
    }

    /// `xClaim($key, $group, $consumer, $min_idle, $ids, $options)`: `[id => fields]`, or the
    /// IDs with `'JUSTID'`.
    #[allow(clippy::too_many_arguments)]
    pub fn x_claim(
        self_: &mut This,
        key: &Zval,
        group: &Zval,
        consumer: &Zval,
        min_idle: i64,
        ids: &ZendHashTable,
        options: Option<&ZendHashTable>,
    ) -> PhpResult<Zval> {
        Self::x_claim_impl(self_, key, group, consumer, min_idle, ids, options)
    }

    /// `xAutoClaim($key, $group, $consumer, $min_idle, $start, $count = -1, $justid = false)`:
    /// `[next start, claimed, deleted IDs]`.
    #[allow(clippy::too_many_arguments)]
    pub fn x_auto_claim(
        self_: &mut This,
        key: &Zval,
        group: &Zval,
        consumer: &Zval,
        min_idle: i64,
        start: &Zval,
        count: Option<i64>,
        justid: Option<bool>,
    ) -> PhpResult<Zval> {
        Self::x_auto_claim_impl(self_, key, group, consumer, min_idle, start, count, justid)
    }

    /// `geoAdd($key, $lng, $lat, $member, ...$more [, $options])`: how many were added.
    pub fn geo_add(self_: &mut This, key: &Zval, args: &[&Zval]) -> PhpResult<Zval> {
        Self::geo_add_impl(self_, key, args)
    }

    /// `geoPos($key, $member, ...)`: `[[lng, lat], ...]`, `[]` for a missing member.
    pub fn geo_pos(self_: &mut This, key: &Zval, members: &[&Zval]) -> PhpResult<Zval> {
        Self::geo_members_impl(self_, "GEOPOS", key, members, Shape::GeoPositions)
    }

    /// `geoHash($key, $member, ...)`: geohash strings, `false` for a missing member.
    pub fn geo_hash(self_: &mut This, key: &Zval, members: &[&Zval]) -> PhpResult<Zval> {
        Self::geo_members_impl(self_, "GEOHASH", key, members, Shape::Raw)
    }

    /// `geoDist($key, $src, $dst, $unit = null)`: a float, `false` for a missing member.
    pub fn geo_dist(
        self_: &mut This,
        key: &Zval,
        src: &Zval,
        dst: &Zval,
        unit: Option<&Zval>,
    ) -> PhpResult<Zval> {
        Self::geo_dist_impl(self_, key, src, dst, unit)
    }

    /// `geoRadius($key, $lng, $lat, $radius, $unit, $options = [])`.
    pub fn geo_radius(
        self_: &mut This,
        key: &Zval,
        lng: &Zval,
        lat: &Zval,
        radius: &Zval,
        unit: &Zval,
        options: Option<&ZendHashTable>,
    ) -> PhpResult<Zval> {
        Self::geo_radius_impl(self_, "GEORADIUS", key, &[lng, lat], radius, unit, options)
    }

    /// `geoRadius_ro($key, $lng, $lat, $radius, $unit, $options = [])`.
    #[php(name = "geoRadius_ro")]
    pub fn geo_radius_ro(
        self_: &mut This,
        key: &Zval,
        lng: &Zval,
        lat: &Zval,
        radius: &Zval,
        unit: &Zval,
        options: Option<&ZendHashTable>,
    ) -> PhpResult<Zval> {
        Self::geo_radius_impl(
            self_,
            "GEORADIUS_RO",
            key,
            &[lng, lat],
            radius,
            unit,
            options,
        )
    }

    /// `geoRadiusByMember($key, $member, $radius, $unit, $options = [])`.
    pub fn geo_radius_by_member(
        self_: &mut This,
        key: &Zval,
        member: &Zval,
        radius: &Zval,
        unit: &Zval,
        options: Option<&ZendHashTable>,
    ) -> PhpResult<Zval> {
        Self::geo_radius_impl(
            self_,
            "GEORADIUSBYMEMBER",
            key,
            &[member],
            radius,
            unit,
            options,
        )
    }

    /// `geoRadiusByMember_ro($key, $member, $radius, $unit, $options = [])`.
    #[php(name = "geoRadiusByMember_ro")]
    pub fn geo_radius_by_member_ro(
        self_: &mut This,
        key: &Zval,
        member: &Zval,
        radius: &Zval,
        unit: &Zval,
        options: Option<&ZendHashTable>,
    ) -> PhpResult<Zval> {
        Self::geo_radius_impl(
            self_,
            "GEORADIUSBYMEMBER_RO",
            key,
            &[member],
            radius,
            unit,
            options,
        )
    }

    /// `geoSearch($key, $member | [$lng, $lat], $radius | [$width, $height], $unit,
    /// $options = [])`.
    pub fn geo_search(
        self_: &mut This,
        key: &Zval,
        position: &Zval,
        shape: &Zval,
        unit: &Zval,
        options: Option<&ZendHashTable>,
    ) -> PhpResult<Zval> {
        Self::geo_search_impl(self_, key, position, shape, unit, options)
    }

    /// `geoSearchStore($dst, $src, $member | [$lng, $lat], $radius | [$width, $height], $unit,
    /// $options = [])`: how many members were stored.
    pub fn geo_search_store(
        self_: &mut This,
        dst: &Zval,
        src: &Zval,
        position: &Zval,
        shape: &Zval,
        unit: &Zval,
        options: Option<&ZendHashTable>,
    ) -> PhpResult<Zval> {
        Self::geo_search_store_impl(self_, dst, src, position, shape, unit, options)
    }
}

/// Commands whose nil reply is a nil list (`*-1`): phpredis gives `[]` (or `null`).
fn replies_nil_list(name: &[u8]) -> bool {
    const NIL_LISTS: &[&str] = &[
        "BLPOP",
        "BRPOP",
        "BZPOPMIN",
        "BZPOPMAX",
        "BLMPOP",
        "BZMPOP",
        "XREAD",
        "XREADGROUP",
    ];
    NIL_LISTS
        .iter()
        .any(|n| n.as_bytes().eq_ignore_ascii_case(name))
}

impl RedisCluster {
    fn step(
        self_: &mut This,
        key: &Zval,
        by: Option<&Zval>,
        one: &str,
        many: &str,
    ) -> PhpResult<Zval> {
        let by = by.map(integer);
        match by {
            None | Some(1) => Self::call(
                self_,
                Shape::Raw,
                |c| {
                    c.key(key)?;
                    Ok(())
                },
                one,
            ),
            Some(by) => Self::call(
                self_,
                Shape::Raw,
                |c| {
                    c.key(key)?.word(by.to_string());
                    Ok(())
                },
                many,
            ),
        }
    }

    fn multi_set(self_: &mut This, name: &str, pairs: &ZendHashTable) -> PhpResult<Zval> {
        if pairs.is_empty() {
            return Self::refuse(self_, "mSet needs at least one key and value");
        }
        let client = Self::this(self_)?;
        if client.options.prefix.is_empty() && client.options.codec.is_plain() {
            let entries = entries_ref(pairs);
            if entries
                .iter()
                .all(|(_, v)| !(v.dereference().is_array() || v.dereference().is_object()))
            {
                let args = pair_args(vec![Arg::Borrowed(name.as_bytes())], &entries)?;
                return Self::run(self_, args, Shape::Bool);
            }
        }
        Self::call(
            self_,
            Shape::Bool,
            |c| {
                for (key, value) in entries(pairs) {
                    c.key_bytes(key.into_bytes()).value(value)?;
                }
                Ok(())
            },
            name,
        )
    }

    /// Runs the `methods.rs` row `name` with the given arguments, as `__call` does.
    fn row(self_: &mut This, name: &str, given: &[&Zval]) -> PhpResult<Zval> {
        let method =
            generic_method(name).ok_or_else(|| invalid(format!("no __call row named {name}")))?;
        Self::call(
            self_,
            method.shape,
            |c| {
                c.pattern(method, given)?;
                Ok(())
            },
            method.command,
        )
    }

    fn keys_command(self_: &mut This, name: &str, keys: &[&Zval]) -> PhpResult<Zval> {
        Self::call(
            self_,
            Shape::Raw,
            |c| {
                c.each(b'k', keys)?;
                Ok(())
            },
            name,
        )
    }

    fn script_call(
        self_: &mut This,
        name: &str,
        script: &Zval,
        args: Option<&ZendHashTable>,
        num_keys: Option<i64>,
    ) -> PhpResult<Zval> {
        let given = args.map(values).unwrap_or_default();
        let num_keys = num_keys.unwrap_or(0).clamp(0, given.len() as i64) as usize;
        Self::call(
            self_,
            Shape::Raw,
            |c| {
                c.text(script)?.word(num_keys.to_string());
                for (i, value) in given.iter().enumerate() {
                    if i < num_keys {
                        c.key(value)?;
                    } else {
                        c.text(value)?;
                    }
                }
                Ok(())
            },
            name,
        )
    }

    /// One step of a SCAN-family walk (asks again while a step is empty with `SCAN_RETRY`).
    #[allow(clippy::too_many_arguments)]
    fn walk(
        self_: &mut This,
        head: Vec<Vec<u8>>,
        mut iterator: PhpRef,
        pattern: Option<Vec<u8>>,
        count: Option<i64>,
        tail: Vec<Vec<u8>>,
        shape: Shape,
    ) -> PhpResult<Zval> {
        let mut cursor = match iterator.long() {
            Some(0) => return Ok(false_zval()), // the walk is over
            Some(cursor) => cursor.to_string(),
            None => match iterator.str() {
                Some("0") => return Ok(false_zval()),
                Some(text) if !text.is_empty() => text.to_owned(),
                _ => "0".to_owned(),
            },
        };
        let mut options = Vec::new();
        if let Some(pattern) = pattern {
            options.push(b"MATCH".to_vec());
            options.push(pattern);
        }
        if let Some(count) = count.filter(|c| *c > 0) {
            options.push(b"COUNT".to_vec());
            options.push(count.to_string().into_bytes());
        }
        options.extend(tail);
        let retry = Self::this(self_)?.options.scan_retry;
        let reply_options = Self::options(self_)?;
        loop {
            let mut args = head.clone();
            args.push(cursor.into_bytes());
            args.extend(options.iter().cloned());
            let mut step = match Self::value_now(self_, args)? {
                Ok(Value::Array(step)) => step,
                Ok(_) => {
                    return Err(invalid(
                        "SCAN answered something else than a cursor and a list",
                    ));
                }
                Err(failed) => return Ok(failed),
            };
            let (Some(elements), Some(next)) = (step.pop(), step.pop()) else {
                return Err(invalid(
                    "SCAN answered something else than a cursor and a list",
                ));
            };
            cursor = String::from_utf8_lossy(text(&next).unwrap_or(b"0")).into_owned();
            let next: i64 = cursor.parse().unwrap_or(0);
            iterator.set_long(next);
            let found = matches!(&elements, Value::Array(items) if !items.is_empty());
            if found || !retry {
                return reply(elements, shape, &reply_options);
            }
            if next == 0 {
                return Ok(false_zval());
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn key_walk(
        self_: &mut This,
        name: &str,
        key: &Zval,
        iterator: PhpRef,
        pattern: Option<&Zval>,
        count: Option<i64>,
        shape: Shape,
    ) -> PhpResult<Zval> {
        let options = Self::options(self_)?;
        let pattern = pattern
            .map(Zval::dereference)
            .filter(|p| !p.is_null())
            .map(arg)
            .transpose()?;
        let head = vec![name.as_bytes().to_vec(), options.key(arg(key)?)];
        Self::walk(self_, head, iterator, pattern, count, Vec::new(), shape)
    }

    fn range(
        self_: &mut This,
        name: &str,
        key: &Zval,
        start: &Zval,
        end: &Zval,
        with_scores: Option<&Zval>,
    ) -> PhpResult<Zval> {
        let with_scores = with_scores.is_some_and(|z| {
            let z = z.dereference();
            z.coerce_to_bool()
                && z.array()
                    .is_none_or(|a| a.get("withscores").is_none_or(Zval::coerce_to_bool))
        });
        Self::call(
            self_,
            if with_scores {
                Shape::Scores
            } else {
                Shape::Values
            },
            |c| {
                c.key(key)?.int(start).int(end);
                if with_scores {
                    c.word("WITHSCORES");
                }
                Ok(())
            },
            name,
        )
    }

    fn by_score(
        self_: &mut This,
        name: &str,
        key: &Zval,
        from: &Zval,
        to: &Zval,
        options: Option<&ZendHashTable>,
    ) -> PhpResult<Zval> {
        let with_scores = options
            .and_then(|o| o.get("withscores"))
            .is_some_and(Zval::coerce_to_bool);
        Self::call(
            self_,
            if with_scores {
                Shape::Scores
            } else {
                Shape::Values
            },
            |c| {
                c.key(key)?.text(from)?.text(to)?;
                if with_scores {
                    c.word("WITHSCORES");
                }
                if let Some(limit) = options.and_then(|o| o.get("limit")).and_then(Zval::array) {
                    c.word("LIMIT");
                    for value in values(limit) {
                        c.int(value);
                    }
                }
                Ok(())
            },
            name,
        )
    }

    fn by_lex(
        self_: &mut This,
        name: &str,
        key: &Zval,
        from: &Zval,
        to: &Zval,
        offset: Option<i64>,
        count: Option<i64>,
    ) -> PhpResult<Zval> {
        // phpredis: an offset and a count go together, or neither.
        if offset.is_some() != count.is_some() {
            return Self::refuse(
                self_,
                "zRangeByLex: give both $offset and $count, or neither",
            );
        }
        Self::call(
            self_,
            Shape::Values,
            |c| {
                c.key(key)?.text(from)?.text(to)?;
                if let (Some(offset), Some(count)) = (offset, count) {
                    c.word("LIMIT")
                        .word(offset.to_string())
                        .word(count.to_string());
                }
                Ok(())
            },
            name,
        )
    }

    fn combine_store(
        self_: &mut This,
        name: &str,
        destination: &Zval,
        keys: &ZendHashTable,
        weights: Option<&Zval>,
        aggregate: Option<&Zval>,
    ) -> PhpResult<Zval> {
        let keys = values(keys);
        Self::call(
            self_,
            Shape::Raw,
            |c| {
                c.key(destination)?.word(keys.len().to_string());
                for key in &keys {
                    c.key(key)?;
                }
                if let Some(weights) = weights.map(Zval::dereference).and_then(Zval::array) {
                    c.word("WEIGHTS");
                    for weight in values(weights) {
                        c.float(weight)?;
                    }
                }
                if let Some(aggregate) = aggregate.map(Zval::dereference).filter(|z| !z.is_null()) {
                    c.word("AGGREGATE")
                        .word(arg(aggregate)?.to_ascii_uppercase());
                }
                Ok(())
            },
            name,
        )
    }
}

/// `head` then every key and value of an associative array (integer keys as their text, as
/// PHP turns `'7'` into `7`), strings borrowed.
fn pair_args<'a>(
    mut head: Vec<Arg<'a>>,
    entries: &[(KeyRef<'a>, &'a Zval)],
) -> Result<Vec<Arg<'a>>, PhpException> {
    head.reserve(entries.len() * 2);
    for (key, value) in entries {
        head.push(match key {
            KeyRef::Name(name) => Arg::Borrowed(name),
            KeyRef::Index(index) => Arg::Owned(index.to_string().into_bytes()),
        });
        head.push(arg_ref(value)?);
    }
    Ok(head)
}
