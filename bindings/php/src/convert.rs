//! Values in and replies out, following phpredis: arguments as the bytes phpredis sends
//! (strings as they are, integers and floats as text, `true` as "1", `false`/`null` as ""),
//! replies as phpredis returns them (nil → `false`, `OK` → `true`, integers as `int`, arrays as
//! lists), with the shapes some commands have in phpredis (`hGetAll` → field => value,
//! `WITHSCORES` → member => score, INFO parsed into an array, per node for server-wide commands).

use cluster_core::Value;
use ext_php_rs::boxed::ZBox;
use ext_php_rs::exception::PhpException;
use ext_php_rs::types::{ArrayKey, ZendHashTable, ZendStr, Zval};

use crate::errors::invalid;
use crate::options::Options;

/// An argument's bytes: borrowed from a PHP string (alive for the whole call), or made here
/// (numbers, booleans).
pub enum Arg<'a> {
    Borrowed(&'a [u8]),
    Owned(Vec<u8>),
}

impl From<Arg<'_>> for Vec<u8> {
    fn from(arg: Arg<'_>) -> Vec<u8> {
        match arg {
            Arg::Borrowed(bytes) => bytes.to_vec(),
            Arg::Owned(bytes) => bytes,
        }
    }
}

impl AsRef<[u8]> for Arg<'_> {
    fn as_ref(&self) -> &[u8] {
        match self {
            Arg::Borrowed(bytes) => bytes,
            Arg::Owned(bytes) => bytes,
        }
    }
}

/// `arg` without copying a string: the hot path of MSET/MGET of many keys.
pub fn arg_ref(value: &Zval) -> Result<Arg<'_>, PhpException> {
    match value.dereference().zend_str() {
        Some(text) => Ok(Arg::Borrowed(text.as_bytes())),
        None => arg(value).map(Arg::Owned),
    }
}

/// The bytes phpredis would send for a PHP value.
pub fn arg(value: &Zval) -> Result<Vec<u8>, PhpException> {
    let value = value.dereference();
    if let Some(text) = value.zend_str() {
        return Ok(text.as_bytes().to_vec());
    }
    if let Some(int) = value.long() {
        return Ok(int.to_string().into_bytes());
    }
    if let Some(float) = value.double() {
        return Ok(float_text(float).into_bytes());
    }
    if let Some(flag) = value.bool() {
        return Ok(if flag { b"1".to_vec() } else { Vec::new() });
    }
    if value.is_null() {
        return Ok(Vec::new());
    }
    Err(invalid(format!(
        "a {:?} cannot be sent to Redis: give a string, an integer or a float",
        value.get_type()
    )))
}

/// A float as Redis reads it back exactly: the shortest text that round-trips ("1.5", "inf").
pub fn float_text(value: f64) -> String {
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    format!("{value}")
}

/// How a command's reply is shaped for PHP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// As is: nil → false, a status ("OK") → true, lists as lists, nothing decoded.
    Raw,
    /// A list reply (nil → `[]`, or `null` with `OPT_NULL_MULTIBULK_AS_NULL`), nothing decoded.
    List,
    /// 1/0 or OK → true/false.
    Bool,
    /// One stored value, read back through the serializer (nil → false).
    Value,
    /// A list of stored values, each read back (nil → `[]`/`null`).
    Values,
    /// A flat [field, value, ...] list → [field => value], values read back.
    Pairs,
    /// A flat [member, score, ...] list → [member => (float) score], members read back.
    Scores,
    /// A number as text → float (nil → false).
    Float,
    /// INFO text → [name => value] (numbers as numbers).
    Info,
    /// TYPE → phpredis's constants: 0 none, 1 string, 2 set, 3 list, 4 zset, 5 hash, 6 stream.
    Type,
    /// `[key, value]` of a blocking list pop, the value read back; a timeout is `[]`/`null`.
    KeyValue,
    /// `[key, member, score]` of BZPOPMIN/MAX, the member read back; a timeout is `[]`/`null`.
    KeyMemberScore,
    /// HMGET: `[field => value]`, the fields being the command's own arguments after the key.
    HashFields,
    /// A flat [name, value, ...] list per element → a list of `[name => value]` (ACL LOG).
    PairsEach,
    /// CLIENT LIST's text → a list of `[field => value]`, one per client.
    ClientList,
    // Commands the engine asks of every master, one reply each, given as phpredis gives the
    // one server's reply:
    /// every master's list, without repeats (PUBSUB CHANNELS);
    NodesUnion,
    /// the integers added up (PUBSUB NUMPAT, SLOWLOG LEN);
    NodesSum,
    /// `[channel => count]` added up (PUBSUB NUMSUB);
    NodesSumPairs,
    /// the lists concatenated (SLOWLOG GET);
    NodesConcat,
    /// `true` when every master said OK (SLOWLOG RESET, SCRIPT FLUSH);
    NodesAllOk,
    /// 1 where every master has it, element by element (SCRIPT EXISTS).
    NodesAllExist,
    /// XRANGE/XREVRANGE: `[id => [field => value]]`, values read back (streams.rs).
    StreamMessages,
    /// XREAD/XREADGROUP: `[stream => [id => [field => value]]]`; nil is `[]`/`null` (streams.rs).
    Streams,
    /// XCLAIM: `[id => [field => value]]`, or the IDs with JUSTID (streams.rs).
    Claimed,
    /// XAUTOCLAIM: `[next start, claimed, deleted IDs]` (streams.rs).
    AutoClaimed,
    /// XINFO: phpredis's nested `[name => value]` arrays (streams.rs).
    StreamInfo,
    /// GEOPOS: `[[lng, lat], ...]`, a missing member `[]`/`null` (geo.rs).
    GeoPositions,
    /// GEOSEARCH with WITH*: `[member => [dist, hash, [lng, lat]]]` (geo.rs).
    GeoSearch,
}

/// A PHP string of `bytes`, copied once (straight into the zend_string).
pub fn bytes_zval(bytes: &[u8]) -> Zval {
    let mut zval = Zval::new();
    zval.set_zend_string(ZendStr::new(bytes, false));
    zval
}

pub fn bool_zval(flag: bool) -> Zval {
    let mut zval = Zval::new();
    zval.set_bool(flag);
    zval
}

pub fn array_zval(table: ZBox<ZendHashTable>) -> Zval {
    let mut zval = Zval::new();
    zval.set_hashtable(table);
    zval
}

fn float_zval(number: f64) -> Zval {
    let mut zval = Zval::new();
    zval.set_double(number);
    zval
}

/// Inserts under a key given as bytes, as PHP would key it (decimal text becomes an int key).
pub fn insert_keyed(
    table: &mut ZendHashTable,
    key: &[u8],
    value: Zval,
) -> Result<(), PhpException> {
    let done = match std::str::from_utf8(key) {
        Ok(text) => table.insert(ArrayKey::from(text.to_owned()), value),
        Err(_) => table.insert(&ZendStr::new(key, false), value),
    };
    done.map_err(|e| invalid(format!("could not build the reply array: {e}")))
}

pub fn push(table: &mut ZendHashTable, value: Zval) -> Result<(), PhpException> {
    table
        .push(value)
        .map_err(|e| invalid(format!("could not build the reply array: {e}")))
}

pub fn text(value: &Value) -> Option<&[u8]> {
    match value {
        Value::BulkString(bytes) => Some(bytes),
        Value::SimpleString(text) => Some(text.as_bytes()),
        Value::Okay => Some(b"OK"),
        _ => None,
    }
}

/// A nil where a list was expected: `[]`, or `null` when the client asked for it.
fn nil_list(options: &Options) -> Zval {
    if options.null_multibulk_as_null {
        Zval::new()
    } else {
        array_zval(ZendHashTable::new())
    }
}

/// A stored value read back: through the serializer when there is one.
pub fn stored(value: Value, options: &Options) -> Result<Zval, PhpException> {
    match value {
        Value::BulkString(bytes) if !options.codec.is_plain() => options.codec.unpack(&bytes),
        // A count given to LPOP, SPOP, SRANDMEMBER, ...: a list of stored values.
        Value::Array(items) if !options.codec.is_plain() => {
            let mut table = ZendHashTable::with_capacity(items.len() as u32);
            for item in items {
                push(&mut table, stored(item, options)?)?;
            }
            Ok(array_zval(table))
        }
        other => raw(other, options),
    }
}

fn float_of(value: &Value) -> Option<f64> {
    match value {
        Value::Double(number) => Some(*number),
        Value::Int(n) => Some(*n as f64),
        other => text(other)
            .and_then(|t| std::str::from_utf8(t).ok())
            .and_then(|t| t.parse::<f64>().ok()),
    }
}

/// A reply in the shape of its command (`args`, as sent): HMGET pairs its fields with the
/// values; everything else is `reply`.
pub fn reply_to<A: AsRef<[u8]>>(
    args: &[A],
    value: Value,
    shape: Shape,
    options: &Options,
) -> Result<Zval, PhpException> {
    match (shape, value) {
        (Shape::HashFields, Value::Array(values)) => {
            let mut table = ZendHashTable::with_capacity(values.len() as u32);
            for (field, value) in args.iter().skip(2).zip(values) {
                insert_keyed(&mut table, field.as_ref(), stored(value, options)?)?;
            }
            Ok(array_zval(table))
        }
        (_, value) => reply(value, shape, options),
    }
}

fn int_of(value: &Value) -> i64 {
    match value {
        Value::Int(n) => *n,
        other => text(other)
            .and_then(|t| std::str::from_utf8(t).ok())
            .and_then(|t| t.parse().ok())
            .unwrap_or(0),
    }
}

/// The replies of every master to one command, merged as the one server's reply would be.
fn merge_nodes(
    shape: Shape,
    replies: Vec<Value>,
    options: &Options,
) -> Result<Option<Zval>, PhpException> {
    let lists = || {
        replies.iter().flat_map(|reply| match reply {
            Value::Array(items) | Value::Set(items) => items.clone(),
            _ => Vec::new(),
        })
    };
    Ok(Some(match shape {
        Shape::NodesSum => {
            let mut zval = Zval::new();
            zval.set_long(replies.iter().map(int_of).sum::<i64>());
            zval
        }
        Shape::NodesUnion => {
            let mut seen = std::collections::HashSet::new();
            let union: Vec<Value> = lists()
                .filter(|item| seen.insert(text(item).map(<[u8]>::to_vec)))
                .collect();
            raw(Value::Array(union), options)?
        }
        Shape::NodesConcat => raw(Value::Array(lists().collect()), options)?,
        // ACL LOG: every master's entries.
        Shape::PairsEach => reply(Value::Array(lists().collect()), Shape::PairsEach, options)?,
        Shape::NodesSumPairs => {
            let mut order: Vec<Vec<u8>> = Vec::new();
            let mut sums: std::collections::HashMap<Vec<u8>, i64> = Default::default();
            for reply in &replies {
                if let Value::Array(items) = reply {
                    for pair in items.chunks(2) {
                        let name = text(&pair[0]).map(<[u8]>::to_vec).unwrap_or_default();
                        let count = pair.get(1).map_or(0, int_of);
                        if !sums.contains_key(&name) {
                            order.push(name.clone());
                        }
                        *sums.entry(name).or_default() += count;
                    }
                }
            }
            let mut table = ZendHashTable::new();
            for name in order {
                let mut count = Zval::new();
                count.set_long(sums[&name]);
                insert_keyed(&mut table, &name, count)?;
            }
            array_zval(table)
        }
        // Every master answered a status (OK, "Background saving started"), no error.
        Shape::NodesAllOk => bool_zval(
            replies
                .iter()
                .all(|reply| matches!(reply, Value::Okay | Value::SimpleString(_))),
        ),
        Shape::NodesAllExist => {
            let mut all: Option<Vec<i64>> = None;
            for reply in &replies {
                let Value::Array(items) = reply else { continue };
                let these: Vec<i64> = items.iter().map(int_of).collect();
                all = Some(match all {
                    None => these,
                    Some(all) => all.iter().zip(&these).map(|(a, b)| (*a).min(*b)).collect(),
                });
            }
            raw(
                Value::Array(
                    all.unwrap_or_default()
                        .into_iter()
                        .map(Value::Int)
                        .collect(),
                ),
                options,
            )?
        }
        _ => return Ok(None),
    }))
}

/// CLIENT LIST's lines: `id=3 addr=127.0.0.1:5000 name= ...` → `['id' => 3, 'addr' => ...]`.
fn client_list(bytes: &[u8]) -> Result<Zval, PhpException> {
    let mut clients = ZendHashTable::new();
    for line in String::from_utf8_lossy(bytes).lines() {
        if line.trim().is_empty() {
            continue;
        }
        let mut client = ZendHashTable::new();
        for field in line.split(' ') {
            let Some((name, value)) = field.split_once('=') else {
                continue;
            };
            let mut zval = Zval::new();
            match value.parse::<i64>() {
                Ok(number) if !value.starts_with('+') => zval.set_long(number),
                _ => zval.set_binary(value.as_bytes().to_vec()),
            }
            insert_keyed(&mut client, name.as_bytes(), zval)?;
        }
        push(&mut clients, array_zval(client))?;
    }
    Ok(array_zval(clients))
}

/// A reply in the given shape. A per-node answer (a map) gives [node => shaped reply].
pub fn reply(value: Value, shape: Shape, options: &Options) -> Result<Zval, PhpException> {
    let value = match value {
        Value::Map(pairs) => {
            let replies: Vec<Value> = pairs.iter().map(|(_, reply)| reply.clone()).collect();
            if let Some(merged) = merge_nodes(shape, replies, options)? {
                return Ok(merged);
            }
            Value::Map(pairs)
        }
        other => other,
    };
    match (shape, value) {
        (Shape::ClientList, Value::BulkString(bytes)) => client_list(&bytes),
        (Shape::ClientList, Value::VerbatimString { text, .. }) => client_list(text.as_bytes()),
        (Shape::PairsEach, Value::Array(items)) => {
            let mut table = ZendHashTable::with_capacity(items.len() as u32);
            for item in items {
                push(&mut table, reply(item, Shape::Pairs, options)?)?;
            }
            Ok(array_zval(table))
        }
        (_, Value::Map(pairs)) => {
            let mut table = ZendHashTable::new();
            for (node, reply_of_node) in pairs {
                let node = text(&node).map(<[u8]>::to_vec).unwrap_or_default();
                insert_keyed(&mut table, &node, reply(reply_of_node, shape, options)?)?;
            }
            Ok(array_zval(table))
        }
        (_, Value::ServerError(_)) => Ok(bool_zval(false)),
        (Shape::StreamMessages, value) => crate::streams::messages(value, options),
        (Shape::Streams, value) => crate::streams::streams(value, options),
        (Shape::Claimed, value) => crate::streams::claimed(value, options),
        (Shape::AutoClaimed, value) => crate::streams::auto_claimed(value, options),
        (Shape::StreamInfo, value) => crate::streams::info(value, options),
        (Shape::GeoPositions, value) => crate::geo::positions(value, options),
        (Shape::GeoSearch, value) => crate::geo::search(value, options),
        (Shape::Bool, value) => Ok(bool_zval(match value {
            Value::Int(n) => n != 0,
            Value::Okay => true,
            Value::SimpleString(s) => s == "OK",
            Value::BulkString(b) => !b.is_empty(),
            Value::Boolean(flag) => flag,
            _ => false,
        })),
        (Shape::Float, value) => Ok(float_of(&value).map_or_else(|| bool_zval(false), float_zval)),
        (Shape::Value, value) => stored(value, options),
        (Shape::List | Shape::Values | Shape::KeyValue | Shape::KeyMemberScore, Value::Nil) => {
            Ok(nil_list(options))
        }
        (Shape::Values, Value::Array(items) | Value::Set(items)) => {
            let mut table = ZendHashTable::with_capacity(items.len() as u32);
            for item in items {
                push(&mut table, stored(item, options)?)?;
            }
            Ok(array_zval(table))
        }
        (Shape::KeyValue, Value::Array(mut items)) if items.len() == 2 => {
            let value = items.pop().unwrap_or(Value::Nil);
            let key = items.pop().unwrap_or(Value::Nil);
            let mut table = ZendHashTable::new();
            push(&mut table, raw(key, options)?)?;
            push(&mut table, stored(value, options)?)?;
            Ok(array_zval(table))
        }
        (Shape::KeyMemberScore, Value::Array(mut items)) if items.len() == 3 => {
            let score = items.pop().unwrap_or(Value::Nil);
            let member = items.pop().unwrap_or(Value::Nil);
            let key = items.pop().unwrap_or(Value::Nil);
            let mut table = ZendHashTable::new();
            push(&mut table, raw(key, options)?)?;
            push(&mut table, stored(member, options)?)?;
            // The score as the server wrote it ("0"), as phpredis gives it.
            push(&mut table, raw(score, options)?)?;
            Ok(array_zval(table))
        }
        (Shape::Pairs | Shape::Scores, Value::Array(items)) => {
            let mut table = ZendHashTable::new();
            let mut items = items.into_iter();
            while let (Some(key), Some(value)) = (items.next(), items.next()) {
                if shape == Shape::Scores {
                    let score = reply(value, Shape::Float, options)?;
                    insert_member(&mut table, key, score, options)?;
                } else {
                    let key = text(&key).map(<[u8]>::to_vec).unwrap_or_default();
                    insert_keyed(&mut table, &key, stored(value, options)?)?;
                }
            }
            Ok(array_zval(table))
        }
        (Shape::Scores, Value::Nil) => Ok(array_zval(ZendHashTable::new())),
        (Shape::Info, Value::BulkString(bytes)) => info(&bytes),
        (Shape::Type, Value::SimpleString(kind)) => {
            let mut zval = Zval::new();
            zval.set_long(match kind.as_str() {
                "string" => 1,
                "set" => 2,
                "list" => 3,
                "zset" => 4,
                "hash" => 5,
                "stream" => 6,
                _ => 0,
            });
            Ok(zval)
        }
        (_, value) => raw(value, options),
    }
}

/// `[member => score]`: the member read back through the serializer is the array key, as
/// phpredis keys it (a serialized member that is not a string or an int is keyed as text).
pub fn insert_member(
    table: &mut ZendHashTable,
    member: Value,
    score: Zval,
    options: &Options,
) -> Result<(), PhpException> {
    let member_bytes = text(&member).map(<[u8]>::to_vec).unwrap_or_default();
    if options.codec.is_plain() {
        return insert_keyed(table, &member_bytes, score);
    }
    let decoded = options.codec.unpack(&member_bytes)?;
    if let Some(int) = decoded.long() {
        return table
            .insert(ArrayKey::Long(int), score)
            .map_err(|e| invalid(format!("could not build the reply array: {e}")));
    }
    match decoded.zend_str() {
        Some(text) => insert_keyed(table, text.as_bytes(), score),
        None => insert_keyed(table, &member_bytes, score),
    }
}

/// phpredis's generic conversion: nil → false, a status → true (its text with
/// `OPT_REPLY_LITERAL`), integers as `int`, arrays as lists.
pub fn raw(value: Value, options: &Options) -> Result<Zval, PhpException> {
    Ok(match value {
        Value::Nil => bool_zval(false),
        Value::Okay if options.reply_literal => bytes_zval(b"OK"),
        Value::Okay => bool_zval(true),
        Value::Int(n) => {
            let mut zval = Zval::new();
            zval.set_long(n);
            zval
        }
        Value::BulkString(bytes) => {
            // The reply's own buffer goes to PHP: one copy, into the zend_string.
            let mut zval = Zval::new();
            zval.set_binary(bytes);
            zval
        }
        Value::SimpleString(text) if options.reply_literal => bytes_zval(text.as_bytes()),
        Value::SimpleString(_) => bool_zval(true),
        Value::VerbatimString { text, .. } => bytes_zval(text.as_bytes()),
        Value::Double(number) => float_zval(number),
        Value::Boolean(flag) => bool_zval(flag),
        Value::Array(items) | Value::Set(items) | Value::Push { data: items, .. } => {
            let mut table = ZendHashTable::with_capacity(items.len() as u32);
            for item in items {
                push(&mut table, raw(item, options)?)?;
            }
            array_zval(table)
        }
        Value::Map(_) => reply(value, Shape::Raw, options)?,
        // An error inside a pipeline's or EXEC's replies: false in its place, as phpredis.
        Value::ServerError(_) => bool_zval(false),
        _ => bool_zval(false),
    })
}

/// INFO's `name:value` lines as an array; integers and floats as numbers, like phpredis.
fn info(bytes: &[u8]) -> Result<Zval, PhpException> {
    let mut table = ZendHashTable::new();
    for line in String::from_utf8_lossy(bytes).lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let mut zval = Zval::new();
        if let Ok(int) = value.parse::<i64>() {
            zval.set_long(int);
        } else if let Ok(float) = value
            .parse::<f64>()
            .map_err(|_| ())
            .and_then(|f| if value.contains('.') { Ok(f) } else { Err(()) })
        {
            zval.set_double(float);
        } else {
            zval.set_binary(value.as_bytes().to_vec());
        }
        insert_keyed(&mut table, name.as_bytes(), zval)?;
    }
    Ok(array_zval(table))
}
