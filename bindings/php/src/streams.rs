//! phpredis's stream methods (`xAdd`, `xRange`, `xRead`, `xReadGroup`, `xClaim`, `xInfo`,
//! ...): phpredis's argument forms (5.3.7, with the later additions of the 6.x stubs: `xAdd`'s
//! `$nomkstream`, `xTrim`'s `$minid`/`$limit`, `xGroup`'s `$entries_read`, `xAutoClaim`) and
//! reply shapes. Stream names are keys (`OPT_PREFIX`), field values go through the serializer
//! and come back through it; field names, IDs, group and consumer names are sent as they are.
//! Calls phpredis refuses before sending (no fields, no IDs, no streams, a negative COUNT or
//! BLOCK) give `false` here too, with the reason in `getLastError()`.

use cluster_core::Value;
use ext_php_rs::exception::PhpException;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendHashTable, Zval};

use crate::args::{Command, integer};
use crate::array::{Key, entries, values};
use crate::client::{RedisCluster, This};
use crate::convert::{Shape, arg, array_zval, insert_keyed, push, raw, stored, text};
use crate::options::Options;

/// A PHP argument that was given and is not `null`.
fn given(value: Option<&Zval>) -> Option<&Zval> {
    value.map(Zval::dereference).filter(|v| !v.is_null())
}

fn false_value() -> Zval {
    let mut zval = Zval::new();
    zval.set_bool(false);
    zval
}

/// `[]`, or `null` with `OPT_NULL_MULTIBULK_AS_NULL`: a nil where a list was expected.
fn nil_list(options: &Options) -> Zval {
    if options.null_multibulk_as_null {
        Zval::new()
    } else {
        array_zval(ZendHashTable::new())
    }
}

impl RedisCluster {
    /// `xAdd($key, $id, [$field => $value, ...], $maxlen = 0, $approx = false,
    /// $nomkstream = false)`: the new entry's ID.
    pub(crate) fn x_add_impl(
        self_: &mut This,
        key: &Zval,
        id: &Zval,
        fields: &ZendHashTable,
        maxlen: Option<i64>,
        approx: Option<bool>,
        nomkstream: Option<bool>,
    ) -> PhpResult<Zval> {
        if fields.is_empty() {
            return Self::refuse(self_, "xAdd needs at least one field and value");
        }
        let maxlen = maxlen.unwrap_or(0);
        Self::call(
            self_,
            Shape::Raw,
            |c| {
                c.key(key)?;
                if nomkstream.unwrap_or(false) {
                    c.word("NOMKSTREAM");
                }
                if maxlen > 0 {
                    c.word("MAXLEN");
                    if approx.unwrap_or(false) {
                        c.word("~");
                    }
                    c.word(maxlen.to_string());
                }
                c.text(id)?.pairs(fields)?;
                Ok(())
            },
            "XADD",
        )
    }

    /// `xRange($key, $start, $end, $count = -1)` (and `xRevRange`): `[id => [field => value]]`.
    pub(crate) fn x_range_impl(
        self_: &mut This,
        name: &str,
        key: &Zval,
        start: &Zval,
        end: &Zval,
        count: Option<i64>,
    ) -> PhpResult<Zval> {
        Self::call(
            self_,
            Shape::StreamMessages,
            |c| {
                c.key(key)?.text(start)?.text(end)?;
                if let Some(count) = count.filter(|n| *n > -1) {
                    c.word("COUNT").word(count.to_string());
                }
                Ok(())
            },
            name,
        )
    }

    /// `xDel($key, $ids)`: how many entries were deleted.
    pub(crate) fn x_del_impl(self_: &mut This, key: &Zval, ids: &ZendHashTable) -> PhpResult<Zval> {
        if ids.is_empty() {
            return Self::refuse(self_, "xDel needs at least one ID");
        }
        Self::call(
            self_,
            Shape::Raw,
            |c| {
                c.key(key)?;
                for id in values(ids) {
                    c.text(id)?;
                }
                Ok(())
            },
            "XDEL",
        )
    }

    /// `xAck($key, $group, $ids)`: how many entries were acknowledged.
    pub(crate) fn x_ack_impl(
        self_: &mut This,
        key: &Zval,
        group: &Zval,
        ids: &ZendHashTable,
    ) -> PhpResult<Zval> {
        if ids.is_empty() {
            return Self::refuse(self_, "xAck needs at least one ID");
        }
        Self::call(
            self_,
            Shape::Raw,
            |c| {
                c.key(key)?.text(group)?;
                for id in values(ids) {
                    c.text(id)?;
                }
                Ok(())
            },
            "XACK",
        )
    }

    /// `xTrim($key, $threshold, $approx = false, $minid = false, $limit = -1)`: how many
    /// entries were removed.
    pub(crate) fn x_trim_impl(
        self_: &mut This,
        key: &Zval,
        threshold: &Zval,
        approx: Option<bool>,
        minid: Option<bool>,
        limit: Option<i64>,
    ) -> PhpResult<Zval> {
        let approx = approx.unwrap_or(false);
        Self::call(
            self_,
            Shape::Raw,
            |c| {
                c.key(key)?.word(if minid.unwrap_or(false) {
                    "MINID"
                } else {
                    "MAXLEN"
                });
                if approx {
                    c.word("~");
                }
                c.text(threshold)?;
                if let Some(limit) = limit.filter(|n| *n > -1 && approx) {
                    c.word("LIMIT").word(limit.to_string());
                }
                Ok(())
            },
            "XTRIM",
        )
    }

    /// `xGroup('CREATE', $key, $group, $id, $mkstream = false, $entries_read = -2)`,
    /// `xGroup('SETID', $key, $group, $id)`, `xGroup('DESTROY', $key, $group)`,
    /// `xGroup('CREATECONSUMER' | 'DELCONSUMER', $key, $group, $consumer)`, `xGroup('HELP')`;
    /// any other form is `false`, as phpredis.
    pub(crate) fn x_group_impl(
        self_: &mut This,
        operation: &Zval,
        key: Option<&Zval>,
        group: Option<&Zval>,
        id_or_consumer: Option<&Zval>,
        mkstream: Option<&Zval>,
        entries_read: Option<i64>,
    ) -> PhpResult<Zval> {
        let op = arg(operation)?.to_ascii_uppercase();
        let (key, group, third) = (given(key), given(group), given(id_or_consumer));
        let mkstream = given(mkstream).is_some_and(Zval::coerce_to_bool);
        let entries_read = entries_read.filter(|n| *n != -2);
        let form = match (op.as_slice(), key, group, third) {
            (b"HELP", None, None, None) => None,
            (
                b"CREATE" | b"SETID" | b"CREATECONSUMER" | b"DELCONSUMER",
                Some(k),
                Some(g),
                Some(t),
            ) => Some((k, g, Some(t))),
            (b"DESTROY", Some(k), Some(g), None) => Some((k, g, None)),
            _ => {
                return Self::refuse(
                    self_,
                    &format!(
                        "xGroup: '{}' with these arguments is not an XGROUP form phpredis sends",
                        String::from_utf8_lossy(&op)
                    ),
                );
            }
        };
        Self::call(
            self_,
            Shape::Raw,
            |c| {
                c.word(op.clone());
                if let Some((key, group, third)) = form {
                    c.key(key)?.text(group)?;
                    if let Some(third) = third {
                        c.text(third)?;
                    }
                    if op == b"CREATE" && mkstream {
                        c.word("MKSTREAM");
                    }
                    if let Some(n) = entries_read.filter(|_| op == b"CREATE" || op == b"SETID") {
                        c.word("ENTRIESREAD").word(n.to_string());
                    }
                }
                Ok(())
            },
            "XGROUP",
        )
    }

    /// `xInfo('STREAM', $key [, 'FULL' [, $count]])`, `xInfo('GROUPS', $key)`,
    /// `xInfo('CONSUMERS', $key, $group)`: phpredis's nested `[name => value]` arrays.
    pub(crate) fn x_info_impl(
        self_: &mut This,
        operation: &Zval,
        arg1: Option<&Zval>,
        arg2: Option<&Zval>,
        count: Option<i64>,
    ) -> PhpResult<Zval> {
        let op = arg(operation)?.to_ascii_uppercase();
        let (arg1, arg2) = (given(arg1), given(arg2));
        let full = match (op.as_slice(), arg2) {
            (b"STREAM", Some(option)) => {
                if !arg(option)?.eq_ignore_ascii_case(b"FULL") {
                    return Self::refuse(
                        self_,
                        &format!(
                            "'{}' is not a valid option for XINFO STREAM",
                            String::from_utf8_lossy(&arg(option)?)
                        ),
                    );
                }
                true
            }
            _ => false,
        };
        Self::call(
            self_,
            Shape::StreamInfo,
            |c| {
                c.word(op.clone());
                if let Some(key) = arg1 {
                    c.key(key)?;
                }
                if full {
                    c.word("FULL");
                    if let Some(count) = count.filter(|n| *n >= 0) {
                        c.word("COUNT").word(count.to_string());
                    }
                } else if let Some(arg2) = arg2 {
                    c.text(arg2)?;
                }
                Ok(())
            },
            "XINFO",
        )
    }

    /// `xPending($key, $group, $start = null, $end = null, $count = -1, $consumer = null,
    /// $idle = 0)`: the summary, or the entries of the range (phpredis's raw lists).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn x_pending_impl(
        self_: &mut This,
        key: &Zval,
        group: &Zval,
        start: Option<&Zval>,
        end: Option<&Zval>,
        count: Option<i64>,
        consumer: Option<&Zval>,
        idle: Option<i64>,
    ) -> PhpResult<Zval> {
        let (start, end, consumer) = (given(start), given(end), given(consumer));
        let count = count.unwrap_or(-1);
        if start.is_some() && (end.is_none() || count < 0) {
            return Self::refuse(self_, "xPending: a start needs an end and a count");
        }
        let idle = idle.unwrap_or(0);
        Self::call(
            self_,
            Shape::Raw,
            |c| {
                c.key(key)?.text(group)?;
                if let (Some(start), Some(end)) = (start, end) {
                    if idle != 0 {
                        c.word("IDLE").word(idle.to_string());
                    }
                    c.text(start)?.text(end)?.word(count.to_string());
                    if let Some(consumer) = consumer {
                        c.text(consumer)?;
                    }
                }
                Ok(())
            },
            "XPENDING",
        )
    }

    /// `xRead([$stream => $id, ...], $count = -1, $block = -1)`: `[stream => [id => fields]]`,
    /// `[]` when nothing came. The streams of one call must share a master (a hash tag).
    pub(crate) fn x_read_impl(
        self_: &mut This,
        streams: &ZendHashTable,
        count: Option<&Zval>,
        block: Option<&Zval>,
    ) -> PhpResult<Zval> {
        if streams.is_empty() {
            return Self::refuse(self_, "xRead needs at least one stream");
        }
        let count = given(count).map(integer).filter(|n| *n > -1);
        let block = given(block).map(integer).filter(|n| *n > -1);
        Self::call(
            self_,
            Shape::Streams,
            |c| {
                stream_args(c, count, block, streams)?;
                Ok(())
            },
            "XREAD",
        )
    }

    /// `xReadGroup($group, $consumer, [$stream => $id, ...], $count = null, $block = null)`;
    /// a negative COUNT or BLOCK is `false`, as phpredis.
    pub(crate) fn x_read_group_impl(
        self_: &mut This,
        group: &Zval,
        consumer: &Zval,
        streams: &ZendHashTable,
        count: Option<&Zval>,
        block: Option<&Zval>,
    ) -> PhpResult<Zval> {
        let count = given(count).map(integer);
        let block = given(block).map(integer);
        if count.is_some_and(|n| n < 0) || block.is_some_and(|n| n < 0) {
            return Self::refuse(self_, "Negative values for COUNT or BLOCK are illegal.");
        }
        if streams.is_empty() {
            return Self::refuse(self_, "xReadGroup needs at least one stream");
        }
        Self::call(
            self_,
            Shape::Streams,
            |c| {
                c.word("GROUP").text(group)?.text(consumer)?;
                stream_args(c, count, block, streams)?;
                Ok(())
            },
            "XREADGROUP",
        )
    }

    /// `xClaim($key, $group, $consumer, $min_idle, $ids, $options)`: options `'IDLE' => ms`
    /// or `'TIME' => ms`, `'RETRYCOUNT' => n`, `'FORCE'`, `'JUSTID'`. `[id => fields]`, or the
    /// IDs with JUSTID.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn x_claim_impl(
        self_: &mut This,
        key: &Zval,
        group: &Zval,
        consumer: &Zval,
        min_idle: i64,
        ids: &ZendHashTable,
        options: Option<&ZendHashTable>,
    ) -> PhpResult<Zval> {
        if ids.is_empty() {
            return Self::refuse(self_, "xClaim needs at least one ID");
        }
        let claim = ClaimOptions::of(options)?;
        Self::call(
            self_,
            Shape::Claimed,
            |c| {
                c.key(key)?
                    .text(group)?
                    .text(consumer)?
                    .word(min_idle.to_string());
                for id in values(ids) {
                    c.text(id)?;
                }
                if let Some((kind, time)) = claim.idle {
                    c.word(kind).word(time.to_string());
                }
                if let Some(retry) = claim.retry_count {
                    c.word("RETRYCOUNT").word(retry.to_string());
                }
                if claim.force {
                    c.word("FORCE");
                }
                if claim.just_id {
                    c.word("JUSTID");
                }
                Ok(())
            },
            "XCLAIM",
        )
    }

    /// `xAutoClaim($key, $group, $consumer, $min_idle, $start, $count = -1, $justid = false)`:
    /// `[next start, claimed, deleted IDs]` (claimed as `[id => fields]`, or IDs with JUSTID).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn x_auto_claim_impl(
        self_: &mut This,
        key: &Zval,
        group: &Zval,
        consumer: &Zval,
        min_idle: i64,
        start: &Zval,
        count: Option<i64>,
        justid: Option<bool>,
    ) -> PhpResult<Zval> {
        Self::call(
            self_,
            Shape::AutoClaimed,
            |c| {
                c.key(key)?
                    .text(group)?
                    .text(consumer)?
                    .word(min_idle.to_string())
                    .text(start)?;
                if let Some(count) = count.filter(|n| *n > 0) {
                    c.word("COUNT").word(count.to_string());
                }
                if justid.unwrap_or(false) {
                    c.word("JUSTID");
                }
                Ok(())
            },
            "XAUTOCLAIM",
        )
    }
}

/// `[COUNT n] [BLOCK ms] STREAMS k1 k2 ... id1 id2 ...` of XREAD and XREADGROUP.
fn stream_args(
    c: &mut Command,
    count: Option<i64>,
    block: Option<i64>,
    streams: &ZendHashTable,
) -> Result<(), PhpException> {
    if let Some(count) = count {
        c.word("COUNT").word(count.to_string());
    }
    if let Some(block) = block {
        c.word("BLOCK").word(block.to_string());
    }
    c.word("STREAMS");
    let streams = entries(streams);
    for (stream, _) in &streams {
        let name = match stream {
            Key::Index(index) => index.to_string().into_bytes(),
            Key::Name(name) => name.clone(),
        };
        c.key_bytes(name);
    }
    for (_, id) in streams {
        c.text(id)?;
    }
    Ok(())
}

/// XCLAIM's options as phpredis reads them: an IDLE or TIME that is not a number ≥ 0 is left
/// out (phpredis warns and ignores it).
struct ClaimOptions {
    idle: Option<(&'static str, i64)>,
    retry_count: Option<i64>,
    force: bool,
    just_id: bool,
}

impl ClaimOptions {
    fn of(options: Option<&ZendHashTable>) -> Result<ClaimOptions, PhpException> {
        let mut claim = ClaimOptions {
            idle: None,
            retry_count: None,
            force: false,
            just_id: false,
        };
        for (name, value) in options.map(entries).unwrap_or_default() {
            match name {
                Key::Name(name) => {
                    let name = name.to_ascii_uppercase();
                    match name.as_slice() {
                        b"TIME" | b"IDLE" => {
                            let kind = if name == b"TIME" { "TIME" } else { "IDLE" };
                            claim.idle = claim_time(value).map(|time| (kind, time));
                        }
                        b"RETRYCOUNT" => claim.retry_count = Some(integer(value)),
                        _ => {}
                    }
                }
                Key::Index(_) => {
                    let Some(word) = value.dereference().str() else {
                        continue;
                    };
                    if word.eq_ignore_ascii_case("FORCE") {
                        claim.force = true;
                    } else if word.eq_ignore_ascii_case("JUSTID") {
                        claim.just_id = true;
                    }
                }
            }
        }
        Ok(claim)
    }
}

/// An IDLE/TIME value: an integer, a float (cut) or numeric text, and not negative.
fn claim_time(value: &Zval) -> Option<i64> {
    let value = value.dereference();
    let time = if let Some(int) = value.long() {
        int
    } else if let Some(float) = value.double() {
        float as i64
    } else {
        let text = value.str()?.trim();
        text.parse::<i64>()
            .ok()
            .or_else(|| text.parse::<f64>().ok().map(|f| f as i64))?
    };
    (time >= 0).then_some(time)
}

// ---- replies ----------------------------------------------------------------------------

/// One entry's `[field, value, ...]` → `[field => value]`, values read back; a deleted entry
/// (nil) → `null`.
fn fields(value: Value, options: &Options) -> Result<Zval, PhpException> {
    match value {
        Value::Array(items) => {
            let mut table = ZendHashTable::with_capacity((items.len() / 2) as u32);
            let mut items = items.into_iter();
            while let (Some(field), Some(value)) = (items.next(), items.next()) {
                let field = text(&field).map(<[u8]>::to_vec).unwrap_or_default();
                insert_keyed(&mut table, &field, stored(value, options)?)?;
            }
            Ok(array_zval(table))
        }
        _ => Ok(Zval::new()),
    }
}

/// `[[id, [field, value, ...]], ...]` into `table` as `id => [field => value]`.
fn insert_messages(
    table: &mut ZendHashTable,
    items: Vec<Value>,
    options: &Options,
) -> Result<(), PhpException> {
    for item in items {
        if let Value::Array(mut pair) = item
            && pair.len() == 2
        {
            let body = pair.pop().unwrap_or(Value::Nil);
            let id = pair.pop().unwrap_or(Value::Nil);
            let id = text(&id).map(<[u8]>::to_vec).unwrap_or_default();
            insert_keyed(table, &id, fields(body, options)?)?;
        }
    }
    Ok(())
}

/// XRANGE / XREVRANGE: `[id => [field => value]]`.
pub fn messages(value: Value, options: &Options) -> Result<Zval, PhpException> {
    match value {
        Value::Array(items) => {
            let mut table = ZendHashTable::with_capacity(items.len() as u32);
            insert_messages(&mut table, items, options)?;
            Ok(array_zval(table))
        }
        Value::Nil => Ok(array_zval(ZendHashTable::new())),
        other => raw(other, options),
    }
}

/// XREAD / XREADGROUP: `[stream => [id => [field => value]]]`; nothing read (nil) is `[]`, or
/// `null` with `OPT_NULL_MULTIBULK_AS_NULL`.
pub fn streams(value: Value, options: &Options) -> Result<Zval, PhpException> {
    match value {
        Value::Nil => Ok(nil_list(options)),
        Value::Array(items) => {
            let mut table = ZendHashTable::with_capacity(items.len() as u32);
            for item in items {
                if let Value::Array(mut pair) = item
                    && pair.len() == 2
                {
                    let entries = pair.pop().unwrap_or(Value::Nil);
                    let name = pair.pop().unwrap_or(Value::Nil);
                    let name = text(&name).map(<[u8]>::to_vec).unwrap_or_default();
                    insert_keyed(&mut table, &name, messages(entries, options)?)?;
                }
            }
            Ok(array_zval(table))
        }
        other => raw(other, options),
    }
}

/// XCLAIM: `[id => [field => value]]`, or with JUSTID the list of IDs.
pub fn claimed(value: Value, options: &Options) -> Result<Zval, PhpException> {
    let Value::Array(items) = value else {
        return raw(value, options);
    };
    let mut table = ZendHashTable::with_capacity(items.len() as u32);
    for item in items {
        match item {
            Value::Array(pair) => insert_messages(&mut table, vec![Value::Array(pair)], options)?,
            Value::Nil => {}
            id => push(&mut table, raw(id, options)?)?,
        }
    }
    Ok(array_zval(table))
}

/// XAUTOCLAIM: `[next start, claimed (as XCLAIM's), deleted IDs]`.
pub fn auto_claimed(value: Value, options: &Options) -> Result<Zval, PhpException> {
    let Value::Array(items) = value else {
        return raw(value, options);
    };
    let mut table = ZendHashTable::with_capacity(items.len() as u32);
    for (i, item) in items.into_iter().enumerate() {
        let zval = if i == 1 {
            claimed(item, options)?
        } else {
            raw(item, options)?
        };
        push(&mut table, zval)?;
    }
    Ok(array_zval(table))
}

/// XINFO, read as phpredis reads it: a flat list alternates names and values (`name =>
/// value`), an integer where a name is expected becomes the name, a list where a value is
/// expected is read the same way, a list where a name is expected is appended. Anything else
/// (XINFO HELP's status lines) makes the whole reply `false`, as in phpredis.
pub fn info(value: Value, options: &Options) -> Result<Zval, PhpException> {
    let Value::Array(items) = value else {
        return raw(value, options);
    };
    let mut table = ZendHashTable::with_capacity(items.len() as u32);
    if info_into(&mut table, items)? {
        Ok(array_zval(table))
    } else {
        Ok(false_value())
    }
}

fn info_into(table: &mut ZendHashTable, items: Vec<Value>) -> Result<bool, PhpException> {
    let mut name: Option<Vec<u8>> = None;
    for item in items {
        match item {
            Value::BulkString(bytes) => match name.take() {
                Some(key) => {
                    let mut zval = Zval::new();
                    zval.set_binary(bytes);
                    insert_keyed(table, &key, zval)?;
                }
                None => name = Some(bytes),
            },
            Value::Nil => match name.take() {
                Some(key) => insert_keyed(table, &key, Zval::new())?,
                None => return Ok(false),
            },
            Value::Int(n) => match name.take() {
                Some(key) => {
                    let mut zval = Zval::new();
                    zval.set_long(n);
                    insert_keyed(table, &key, zval)?;
                }
                None => name = Some(n.to_string().into_bytes()),
            },
            Value::Array(sub) => {
                let mut nested = ZendHashTable::with_capacity(sub.len() as u32);
                if !info_into(&mut nested, sub)? {
                    return Ok(false);
                }
                match name.take() {
                    Some(key) => insert_keyed(table, &key, array_zval(nested))?,
                    None => push(table, array_zval(nested))?,
                }
            }
            _ => return Ok(false),
        }
    }
    Ok(true)
}
