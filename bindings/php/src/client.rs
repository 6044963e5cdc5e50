//! `RedisCluster\RedisCluster`: phpredis's method names and return conventions on the engine.
//! Each method turns its PHP arguments into one command's bytes, runs it through the core
//! (which decides where), and shapes the reply as phpredis would. `__call` and `rawCommand`
//! take every other command; `pipeline()` / `multi()` queue commands until `exec()`.

use cluster_core::{ClusterConfig, ClusterError, Value};
use ext_php_rs::convert::IntoZval;
use ext_php_rs::exception::PhpException;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{PhpRef, ZendClassObject, ZendHashTable, Zval};

use crate::array::{Key, entries, raw_entries, values};
use crate::config::{apply_options, to_json};
use crate::convert::{Arg, Shape, arg, arg_ref, reply};
use crate::errors::{exception, invalid};
use crate::methods::generic_method;
use crate::persistent::{self, Engine};

/// Commands queued by `pipeline()` (or `multi()`: a transaction), each with its reply shape.
struct Queue {
    transaction: bool,
    commands: Vec<(Vec<Vec<u8>>, Shape)>,
}

#[php_class]
#[php(name = "RedisCluster\\RedisCluster")]
pub struct RedisCluster {
    cluster: Engine,
    queue: Option<Queue>,
}

type This = ZendClassObject<RedisCluster>;

/// Flattens PHP arguments the way phpredis accepts them: a list gives its values, an
/// associative array its key/value pairs (`hSet($k, ['f' => 'v'])`), a scalar itself.
fn flatten(values: &[&Zval], out: &mut Vec<Vec<u8>>) -> Result<(), PhpException> {
    for value in values {
        let value = value.dereference();
        match value.array() {
            Some(array) => flatten_array(array, out)?,
            None => out.push(arg(value)?),
        }
    }
    Ok(())
}

/// A list (keys 0, 1, 2, ...) gives its values; any other array its key/value pairs, integer
/// keys as their text (PHP turns the key `'7'` into `7`).
fn flatten_array(array: &ZendHashTable, out: &mut Vec<Vec<u8>>) -> Result<(), PhpException> {
    let list = crate::array::is_list(array);
    out.reserve(array.len() * 2);
    for (key, item) in entries(array) {
        if !list {
            out.push(key.into_bytes());
        }
        out.push(arg(item)?);
    }
    Ok(())
}

fn words(command: &str) -> Vec<Vec<u8>> {
    command.split(' ').map(|w| w.as_bytes().to_vec()).collect()
}

impl RedisCluster {
    fn this(self_: &mut This) -> Result<&mut RedisCluster, PhpException> {
        self_
            .obj
            .as_mut()
            .ok_or_else(|| invalid("the RedisCluster object was not constructed"))
    }

    /// Runs one command, or queues it in pipeline mode (then `$this` comes back, for chaining).
    fn run<A: AsRef<[u8]> + Into<Vec<u8>>>(
        self_: &mut This,
        args: Vec<A>,
        shape: Shape,
    ) -> PhpResult<Zval> {
        let client = Self::this(self_)?;
        if let Some(queue) = client.queue.as_mut() {
            // Owned arguments move into the queue; borrowed ones are copied once.
            let owned = args.into_iter().map(Into::into).collect();
            queue.commands.push((owned, shape));
            return self_.into_zval(false).map_err(|e| invalid(e.to_string()));
        }
        let value = client.cluster.execute(&args).map_err(exception)?;
        reply(value, shape)
    }

    fn run_value(self_: &mut This, args: Vec<Vec<u8>>) -> PhpResult<Option<Value>> {
        let client = Self::this(self_)?;
        if client.queue.is_some() {
            return Err(invalid("this method cannot be pipelined"));
        }
        Ok(Some(client.cluster.execute(&args).map_err(exception)?))
    }
}

#[php_impl]
impl RedisCluster {
    /// `new RedisCluster(['nodes' => [...], 'master_of' => [...]], $db, $mastersOnly,
    /// ['timeout' => 1.5, 'read_timeout' => 1.5, 'password' => ..., 'username' => ...,
    /// 'persistent' => true])`. The whole config is validated before anything connects;
    /// `persistent` (true or an id) reuses the process's engine for that config
    /// (`persistent.rs`).
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
        let mut persistent = None;
        if let Some(options) = options {
            apply_options(&mut config, options)?;
            persistent = persistent::option(options)?;
        }
        let config = ClusterConfig::from_value(&serde_json::Value::Object(config))
            .map_err(|e| exception(ClusterError::Config(e)))?;
        let cluster = persistent::engine(config, persistent).map_err(exception)?;
        Ok(RedisCluster {
            cluster,
            queue: None,
        })
    }

    /// `['node_2' => ['host' => '127.0.0.1', 'port' => 7001]]`: the master `$key` is (or
    /// will be) stored on; `name{tag}` keys are placed by `tag`.
    pub fn get_node_for(&self, key: &Zval) -> PhpResult<Zval> {
        let node = self.cluster.node_config_for(arg(key)?);
        let mut address = ZendHashTable::new();
        address
            .insert("host", node.host.as_str())
            .and_then(|()| address.insert("port", i64::from(node.port)))
            .map_err(|e| invalid(e.to_string()))?;
        let mut out = ZendHashTable::new();
        out.insert(node.name.as_str(), address)
            .map_err(|e| invalid(e.to_string()))?;
        out.into_zval(false).map_err(|e| invalid(e.to_string()))
    }

    /// `SET`; `$options` is a TTL in seconds or phpredis's array (`['nx', 'ex' => 10]`,
    /// `'xx'`, `'px' => ms`, `'exat'`, `'pxat'`, `'keepttl'`, `'get'`).
    pub fn set(
        self_: &mut This,
        key: &Zval,
        value: &Zval,
        options: Option<&Zval>,
    ) -> PhpResult<Zval> {
        let mut args = vec![b"SET".to_vec(), arg(key)?, arg(value)?];
        let mut get = false;
        match options.map(Zval::dereference) {
            None => {}
            Some(ttl) if ttl.is_null() => {}
            Some(ttl) if ttl.is_long() || ttl.is_double() => {
                args.push(b"EX".to_vec());
                args.push(arg(ttl)?);
            }
            Some(array) if array.is_array() => {
                for (key, item) in array.array().map(entries).unwrap_or_default() {
                    let word = match key {
                        Key::Index(_) => arg(item)?,
                        Key::Name(name) => name,
                    };
                    let upper = word.to_ascii_uppercase();
                    match upper.as_slice() {
                        b"NX" | b"XX" | b"KEEPTTL" => args.push(upper),
                        b"GET" => {
                            get = true;
                            args.push(upper);
                        }
                        b"EX" | b"PX" | b"EXAT" | b"PXAT" => {
                            args.push(upper);
                            args.push(arg(item)?);
                        }
                        _ => {
                            return Err(invalid(format!(
                                "unknown SET option '{}'",
                                String::from_utf8_lossy(&word)
                            )));
                        }
                    }
                }
            }
            Some(_) => return Err(invalid("SET options must be a TTL or an array")),
        }
        Self::run(self_, args, if get { Shape::Raw } else { Shape::Bool })
    }

    /// Values in the order of `$keys`, `false` for a missing key.
    pub fn m_get(self_: &mut This, keys: &ZendHashTable) -> PhpResult<Zval> {
        let keys = values(keys);
        if keys.is_empty() {
            return ZendHashTable::new()
                .into_zval(false)
                .map_err(|e| invalid(e.to_string()));
        }
        let mut args = Vec::with_capacity(keys.len() + 1);
        args.push(Arg::Borrowed(b"MGET"));
        for key in keys {
            args.push(arg_ref(key)?);
        }
        Self::run(self_, args, Shape::Raw)
    }

    /// `['key' => 'value', ...]`, split over the masters.
    pub fn m_set(self_: &mut This, pairs: &ZendHashTable) -> PhpResult<Zval> {
        let entries = raw_entries(pairs);
        let args = pair_args(vec![Arg::Borrowed(b"MSET")], &entries)?;
        Self::run(self_, args, Shape::Bool)
    }

    pub fn m_set_nx(self_: &mut This, pairs: &ZendHashTable) -> PhpResult<Zval> {
        let entries = raw_entries(pairs);
        let args = pair_args(vec![Arg::Borrowed(b"MSETNX")], &entries)?;
        Self::run(self_, args, Shape::Bool)
    }

    /// DEL of keys given one by one or as an array: how many existed.
    pub fn del(self_: &mut This, keys: &[&Zval]) -> PhpResult<Zval> {
        let mut args = vec![b"DEL".to_vec()];
        flatten(keys, &mut args)?;
        Self::run(self_, args, Shape::Raw)
    }

    pub fn delete(self_: &mut This, keys: &[&Zval]) -> PhpResult<Zval> {
        Self::del(self_, keys)
    }

    pub fn unlink(self_: &mut This, keys: &[&Zval]) -> PhpResult<Zval> {
        let mut args = vec![b"UNLINK".to_vec()];
        flatten(keys, &mut args)?;
        Self::run(self_, args, Shape::Raw)
    }

    /// How many of the keys exist (an int, as phpredis 4+).
    pub fn exists(self_: &mut This, keys: &[&Zval]) -> PhpResult<Zval> {
        let mut args = vec![b"EXISTS".to_vec()];
        flatten(keys, &mut args)?;
        Self::run(self_, args, Shape::Raw)
    }

    pub fn h_get_all(self_: &mut This, key: &Zval) -> PhpResult<Zval> {
        Self::run(self_, vec![b"HGETALL".to_vec(), arg(key)?], Shape::Pairs)
    }

    pub fn h_m_set(self_: &mut This, key: &Zval, pairs: &ZendHashTable) -> PhpResult<Zval> {
        let entries = raw_entries(pairs);
        let args = pair_args(vec![Arg::Borrowed(b"HSET"), arg_ref(key)?], &entries)?;
        Self::run(self_, args, Shape::Bool)
    }

    /// `[field => value]`, `false` for a missing field.
    pub fn h_m_get(self_: &mut This, key: &Zval, fields: &ZendHashTable) -> PhpResult<Zval> {
        let mut args = vec![b"HMGET".to_vec(), arg(key)?];
        for field in values(fields) {
            args.push(arg(field)?);
        }
        let names: Vec<Vec<u8>> = args[2..].to_vec();
        let Some(Value::Array(values)) = Self::run_value(self_, args)? else {
            return Err(invalid("HMGET answered something else than a list"));
        };
        let mut flat = Vec::with_capacity(values.len() * 2);
        for (name, value) in names.into_iter().zip(values) {
            flat.push(Value::BulkString(name));
            flat.push(value);
        }
        reply(Value::Array(flat), Shape::Pairs)
    }

    /// `zAdd($key, [options,] $score1, $member1, ...)` or `zAdd($key, [options], [member => score])`.
    pub fn z_add(self_: &mut This, key: &Zval, rest: &[&Zval]) -> PhpResult<Zval> {
        let mut args = vec![b"ZADD".to_vec(), arg(key)?];
        let mut rest = rest.iter().map(|z| z.dereference()).peekable();
        // A first array that is a list holds the options (NX, XX, GT, LT, CH, INCR).
        if let Some(options) = rest
            .peek()
            .and_then(|z| z.array())
            .filter(|a| crate::array::is_list(a))
        {
            for option in values(options) {
                args.push(arg(option)?.to_ascii_uppercase());
            }
            rest.next();
        }
        for value in rest {
            if let Some(members) = value.array() {
                for (member, score) in entries(members) {
                    args.push(arg(score)?);
                    args.push(member.into_bytes());
                }
            } else {
                args.push(arg(value)?);
            }
        }
        let incr = args.iter().any(|a| a == b"INCR");
        Self::run(self_, args, if incr { Shape::Float } else { Shape::Raw })
    }

    /// Members by rank; with `$withScores`, `[member => score]`.
    pub fn z_range(
        self_: &mut This,
        key: &Zval,
        start: i64,
        end: i64,
        with_scores: Option<&Zval>,
    ) -> PhpResult<Zval> {
        Self::range(
            self_,
            "ZRANGE",
            key,
            start.to_string(),
            end.to_string(),
            with_scores,
        )
    }

    pub fn z_rev_range(
        self_: &mut This,
        key: &Zval,
        start: i64,
        end: i64,
        with_scores: Option<&Zval>,
    ) -> PhpResult<Zval> {
        Self::range(
            self_,
            "ZREVRANGE",
            key,
            start.to_string(),
            end.to_string(),
            with_scores,
        )
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

    /// INFO of every master: `['node_1' => [...], ...]`.
    pub fn info(self_: &mut This, sections: &[&Zval]) -> PhpResult<Zval> {
        let mut args = vec![b"INFO".to_vec()];
        flatten(sections, &mut args)?;
        Self::run(self_, args, Shape::Info)
    }

    /// `scan(&$iterator, $pattern = null, $count = 0)`: the next keys of a walk over every
    /// master, or `false` when the walk is over (`$iterator` is then 0). Empty steps are
    /// skipped, as phpredis's `SCAN_RETRY`, so `while ($keys = $r->scan($it))` sees every key.
    pub fn scan(
        self_: &mut This,
        iterator: PhpRef,
        pattern: Option<&Zval>,
        count: Option<i64>,
    ) -> PhpResult<Zval> {
        Self::walk(
            self_,
            vec![b"SCAN".to_vec()],
            iterator,
            pattern,
            count,
            Shape::Raw,
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
        Self::walk(
            self_,
            vec![b"HSCAN".to_vec(), arg(key)?],
            iterator,
            pattern,
            count,
            Shape::Pairs,
        )
    }

    /// `sScan($key, &$iterator, $pattern = null, $count = 0)`: members per step.
    pub fn s_scan(
        self_: &mut This,
        key: &Zval,
        iterator: PhpRef,
        pattern: Option<&Zval>,
        count: Option<i64>,
    ) -> PhpResult<Zval> {
        Self::walk(
            self_,
            vec![b"SSCAN".to_vec(), arg(key)?],
            iterator,
            pattern,
            count,
            Shape::Raw,
        )
    }

    /// `zScan($key, &$iterator, $pattern = null, $count = 0)`: `[member => score]` per step.
    pub fn z_scan(
        self_: &mut This,
        key: &Zval,
        iterator: PhpRef,
        pattern: Option<&Zval>,
        count: Option<i64>,
    ) -> PhpResult<Zval> {
        Self::walk(
            self_,
            vec![b"ZSCAN".to_vec(), arg(key)?],
            iterator,
            pattern,
            count,
            Shape::Scores,
        )
    }

    /// Any command, its reply in phpredis's generic shape.
    pub fn raw_command(self_: &mut This, command: &Zval, args: &[&Zval]) -> PhpResult<Zval> {
        let mut all = words(&String::from_utf8_lossy(&arg(command)?));
        flatten(args, &mut all)?;
        Self::run(self_, all, Shape::Raw)
    }

    /// phpredis's other methods (`incr`, `sAdd`, `lRange`, `expire`, ...), case-insensitive.
    pub fn __call(self_: &mut This, name: String, arguments: &ZendHashTable) -> PhpResult<Zval> {
        let Some((command, shape)) = generic_method(&name) else {
            return Err(invalid(format!(
                "Call to undefined method RedisCluster\\RedisCluster::{name}()"
            )));
        };
        let mut args = words(command);
        flatten(&values(arguments), &mut args)?;
        Self::run(self_, args, shape)
    }

    /// Starts queueing: commands return `$this` until `exec()` sends them, per master in one
    /// batch each.
    pub fn pipeline(self_: &mut This) -> PhpResult<Zval> {
        Self::start(self_, false)
    }

    /// Starts a transaction: `exec()` runs the queued commands in MULTI/EXEC on the one
    /// master that owns all their keys (give them one hash tag).
    pub fn multi(self_: &mut This) -> PhpResult<Zval> {
        Self::start(self_, true)
    }

    /// Runs what was queued; one reply per command (`false` where a command failed).
    pub fn exec(self_: &mut This) -> PhpResult<Zval> {
        let client = Self::this(self_)?;
        let Some(queue) = client.queue.take() else {
            return Err(invalid("exec() without pipeline() or multi()"));
        };
        let (commands, shapes): (Vec<Vec<Vec<u8>>>, Vec<Shape>) =
            queue.commands.into_iter().unzip();
        let mut out = ZendHashTable::new();
        if commands.is_empty() {
            return out.into_zval(false).map_err(|e| invalid(e.to_string()));
        }
        let replies: Vec<Value> = if queue.transaction {
            match client.cluster.transaction(&commands).map_err(exception)? {
                Value::Array(items) => items,
                // EXEC answered nil (aborted): false, as phpredis.
                _ => return reply(Value::Nil, Shape::Raw),
            }
        } else {
            client
                .cluster
                .pipeline(&commands)
                .map_err(exception)?
                .into_iter()
                .map(|r| match r {
                    Ok(value) => Ok(value),
                    // An error reply is `false` in its place; a node that failed is an
                    // exception, as in phpredis (its commands' fate is unknown).
                    Err(ClusterError::Server { error, .. }) => Ok(Value::ServerError(error)),
                    Err(other) => Err(exception(other)),
                })
                .collect::<Result<_, _>>()?
        };
        for (value, shape) in replies.into_iter().zip(shapes) {
            let value = match value {
                Value::ServerError(_) => Value::Nil,
                other => other,
            };
            out.push(reply(value, shape)?)
                .map_err(|e| invalid(e.to_string()))?;
        }
        out.into_zval(false).map_err(|e| invalid(e.to_string()))
    }

    /// Drops what was queued.
    pub fn discard(&mut self) -> bool {
        self.queue.take().is_some()
    }

    /// Closes the idle connections; the object reconnects if used again.
    pub fn close(&self) -> bool {
        self.cluster.disconnect();
        true
    }
}

impl RedisCluster {
    /// One step of a SCAN-family walk: asks until a step has elements or the cursor is 0.
    fn walk(
        self_: &mut This,
        head: Vec<Vec<u8>>,
        mut iterator: PhpRef,
        pattern: Option<&Zval>,
        count: Option<i64>,
        shape: Shape,
    ) -> PhpResult<Zval> {
        let mut cursor = match iterator.long() {
            Some(0) => return reply(Value::Nil, Shape::Raw), // the walk is over
            Some(cursor) => cursor.to_string(),
            None => "0".to_owned(),
        };
        let mut options = Vec::new();
        if let Some(pattern) = pattern.map(Zval::dereference).filter(|p| !p.is_null()) {
            options.push(b"MATCH".to_vec());
            options.push(arg(pattern)?);
        }
        if let Some(count) = count.filter(|c| *c > 0) {
            options.push(b"COUNT".to_vec());
            options.push(count.to_string().into_bytes());
        }
        loop {
            let mut args = head.clone();
            args.push(cursor.into_bytes());
            args.extend(options.iter().cloned());
            let Some(Value::Array(mut step)) = Self::run_value(self_, args)? else {
                return Err(invalid(
                    "SCAN answered something else than a cursor and a list",
                ));
            };
            let (Some(elements), Some(Value::BulkString(next))) = (step.pop(), step.pop()) else {
                return Err(invalid(
                    "SCAN answered something else than a cursor and a list",
                ));
            };
            cursor = String::from_utf8_lossy(&next).into_owned();
            let next: i64 = cursor.parse().unwrap_or(0);
            iterator.set_long(next);
            let found = matches!(&elements, Value::Array(items) if !items.is_empty());
            if found {
                return reply(elements, shape);
            }
            if next == 0 {
                return reply(Value::Nil, Shape::Raw);
            }
        }
    }

    fn start(self_: &mut This, transaction: bool) -> PhpResult<Zval> {
        let client = Self::this(self_)?;
        if client.queue.is_some() {
            return Err(invalid(
                "already in pipeline or multi mode: call exec() first",
            ));
        }
        client.queue = Some(Queue {
            transaction,
            commands: Vec::new(),
        });
        self_.into_zval(false).map_err(|e| invalid(e.to_string()))
    }

    fn range(
        self_: &mut This,
        command: &str,
        key: &Zval,
        start: String,
        end: String,
        with_scores: Option<&Zval>,
    ) -> PhpResult<Zval> {
        let with_scores = with_scores.is_some_and(|z| {
            let z = z.dereference();
            z.coerce_to_bool()
                && z.array()
                    .is_none_or(|a| a.get("withscores").is_none_or(Zval::coerce_to_bool))
        });
        let mut args = vec![
            command.as_bytes().to_vec(),
            arg(key)?,
            start.into_bytes(),
            end.into_bytes(),
        ];
        if with_scores {
            args.push(b"WITHSCORES".to_vec());
        }
        Self::run(
            self_,
            args,
            if with_scores {
                Shape::Scores
            } else {
                Shape::Raw
            },
        )
    }

    fn by_score(
        self_: &mut This,
        command: &str,
        key: &Zval,
        from: &Zval,
        to: &Zval,
        options: Option<&ZendHashTable>,
    ) -> PhpResult<Zval> {
        let mut args = vec![command.as_bytes().to_vec(), arg(key)?, arg(from)?, arg(to)?];
        let with_scores = options
            .and_then(|o| o.get("withscores"))
            .is_some_and(Zval::coerce_to_bool);
        if with_scores {
            args.push(b"WITHSCORES".to_vec());
        }
        if let Some(limit) = options.and_then(|o| o.get("limit")).and_then(Zval::array) {
            args.push(b"LIMIT".to_vec());
            for value in values(limit) {
                args.push(arg(value)?);
            }
        }
        Self::run(
            self_,
            args,
            if with_scores {
                Shape::Scores
            } else {
                Shape::Raw
            },
        )
    }

    fn combine_store(
        self_: &mut This,
        command: &str,
        destination: &Zval,
        keys: &ZendHashTable,
        weights: Option<&Zval>,
        aggregate: Option<&Zval>,
    ) -> PhpResult<Zval> {
        let mut args = vec![
            command.as_bytes().to_vec(),
            arg(destination)?,
            keys.len().to_string().into_bytes(),
        ];
        for key in values(keys) {
            args.push(arg(key)?);
        }
        if let Some(weights) = weights.map(Zval::dereference).and_then(Zval::array) {
            args.push(b"WEIGHTS".to_vec());
            for weight in values(weights) {
                args.push(arg(weight)?);
            }
        }
        if let Some(aggregate) = aggregate.map(Zval::dereference).filter(|z| !z.is_null()) {
            args.push(b"AGGREGATE".to_vec());
            args.push(arg(aggregate)?.to_ascii_uppercase());
        }
        Self::run(self_, args, Shape::Raw)
    }
}

/// `head` then every key and value of an associative array (integer keys as their text, as
/// PHP turns `'7'` into `7`), strings borrowed.
fn pair_args<'a>(
    mut head: Vec<Arg<'a>>,
    entries: &'a [(Zval, &'a Zval)],
) -> Result<Vec<Arg<'a>>, PhpException> {
    head.reserve(entries.len() * 2);
    for (key, value) in entries {
        head.push(arg_ref(key)?);
        head.push(arg_ref(value)?);
    }
    Ok(head)
}
