//! phpredis's geo methods (`geoAdd`, `geoPos`, `geoHash`, `geoDist`, `geoRadius[_ro]`,
//! `geoRadiusByMember[_ro]`, `geoSearch`, `geoSearchStore`): phpredis's argument forms and
//! reply shapes. The geo set's name and a STORE destination are keys (`OPT_PREFIX`); the
//! members of geoAdd, geoPos and geoHash go through the serializer, as phpredis sends them;
//! the member of geoDist, geoRadiusByMember and geoSearch is sent as it is, and the members in
//! replies come back as stored (phpredis does not unserialize them). Coordinates, radii and
//! units are numbers or text, never serialized (phpredis 5.3.7 serializes geoAdd's
//! coordinates too, which makes geoAdd fail with a serializer; 6.x sends them as numbers).

use cluster_core::Value;
use ext_php_rs::exception::PhpException;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendHashTable, Zval};

use crate::args::Command;
use crate::array::{Key, entries, values};
use crate::client::{RedisCluster, This};
use crate::convert::{Shape, arg, array_zval, insert_keyed, push, raw, text};
use crate::options::Options;

/// GEORADIUS / GEOSEARCH options as phpredis reads them from its options array.
#[derive(Default)]
struct GeoOptions {
    with_coord: bool,
    with_dist: bool,
    with_hash: bool,
    sort: Option<&'static str>,
    count: Option<i64>,
    any: bool,
    /// `("STORE" | "STOREDIST", destination)`: the first one given, as phpredis.
    store: Option<(&'static str, Vec<u8>)>,
    store_dist: bool,
}

impl GeoOptions {
    fn with_any(&self) -> bool {
        self.with_coord || self.with_dist || self.with_hash
    }

    /// Reads the options; `Err(reason)` where phpredis refuses the call (a COUNT that is not
    /// an integer > 0, STORE with a WITH* option).
    fn of(options: Option<&ZendHashTable>) -> Result<Result<GeoOptions, String>, PhpException> {
        let mut out = GeoOptions::default();
        for (name, value) in options.map(entries).unwrap_or_default() {
            let value = value.dereference();
            match name {
                Key::Name(name) => {
                    let name = name.to_ascii_lowercase();
                    match name.as_slice() {
                        b"count" => {
                            let (count, any) = match value.array() {
                                Some(pair) => {
                                    let pair = values(pair);
                                    (
                                        pair.first().and_then(|c| c.dereference().long()),
                                        pair.get(1).is_some_and(|a| {
                                            let a = a.dereference();
                                            a.str().map_or_else(
                                                || a.coerce_to_bool(),
                                                |s| s.eq_ignore_ascii_case("any"),
                                            )
                                        }),
                                    )
                                }
                                None => (value.long(), false),
                            };
                            match count {
                                Some(count) if count > 0 => {
                                    out.count = Some(count);
                                    out.any |= any;
                                }
                                _ => return Ok(Err("COUNT must be an integer > 0!".to_owned())),
                            }
                        }
                        b"store" | b"storedist" if out.store.is_none() => {
                            let word = if name == b"store" {
                                "STORE"
                            } else {
                                "STOREDIST"
                            };
                            out.store = Some((word, arg(value)?));
                        }
                        _ => {}
                    }
                }
                Key::Index(_) => {
                    let Some(word) = value.str() else { continue };
                    match word.to_ascii_lowercase().as_str() {
                        "withcoord" => out.with_coord = true,
                        "withdist" => out.with_dist = true,
                        "withhash" => out.with_hash = true,
                        "asc" => out.sort = Some("ASC"),
                        "desc" => out.sort = Some("DESC"),
                        "any" => out.any = true,
                        "storedist" => out.store_dist = true,
                        _ => {}
                    }
                }
            }
        }
        if out.store.is_some() && out.with_any() {
            return Ok(Err(
                "STORE[DIST] is not compatible with WITHCOORD, WITHDIST or WITHHASH".to_owned(),
            ));
        }
        Ok(Ok(out))
    }

    /// GEORADIUS's order: WITH*, ASC|DESC, COUNT n, STORE|STOREDIST key.
    fn append_radius(&self, c: &mut Command) {
        self.append_with(c);
        if let Some(sort) = self.sort {
            c.word(sort);
        }
        if let Some(count) = self.count {
            c.word("COUNT").word(count.to_string());
        }
        if let Some((word, key)) = &self.store {
            c.word(*word).key_bytes(key.clone());
        }
    }

    fn append_with(&self, c: &mut Command) {
        if self.with_coord {
            c.word("WITHCOORD");
        }
        if self.with_dist {
            c.word("WITHDIST");
        }
        if self.with_hash {
            c.word("WITHHASH");
        }
    }

    /// GEOSEARCH's tail: ASC|DESC, COUNT n [ANY], then WITH* (or STOREDIST for the store).
    fn append_search(&self, c: &mut Command, store: bool) {
        if let Some(sort) = self.sort {
            c.word(sort);
        }
        if let Some(count) = self.count {
            c.word("COUNT").word(count.to_string());
            if self.any {
                c.word("ANY");
            }
        }
        if store {
            if self.store_dist {
                c.word("STOREDIST");
            }
        } else {
            self.append_with(c);
        }
    }
}

/// FROMMEMBER m | FROMLONLAT lng lat, then BYRADIUS r | BYBOX w h, then the unit.
fn search_origin(
    c: &mut Command,
    position: &Zval,
    shape: &Zval,
    unit: &Zval,
) -> Result<Result<(), String>, PhpException> {
    let position = position.dereference();
    match position.array().map(values) {
        Some(lnglat) if lnglat.len() == 2 => {
            c.word("FROMLONLAT").float(lnglat[0])?.float(lnglat[1])?;
        }
        Some(_) => {
            return Ok(Err(
                "the position is a member or [longitude, latitude]".into()
            ));
        }
        None => {
            c.word("FROMMEMBER").text(position)?;
        }
    }
    let shape = shape.dereference();
    match shape.array().map(values) {
        Some(box_) if box_.len() == 2 => {
            c.word("BYBOX").float(box_[0])?.float(box_[1])?;
        }
        Some(_) => return Ok(Err("the shape is a radius or [width, height]".into())),
        None => {
            c.word("BYRADIUS").float(shape)?;
        }
    }
    c.text(unit)?;
    Ok(Ok(()))
}

impl RedisCluster {
    /// `geoAdd($key, $lng, $lat, $member, ...$more_triples [, $options])`: how many members
    /// were added. A last array argument holds 6.x's options (`'NX'`, `'XX'`, `'CH'`).
    pub(crate) fn geo_add_impl(self_: &mut This, key: &Zval, args: &[&Zval]) -> PhpResult<Zval> {
        let (options, triples) = match args.split_last() {
            Some((last, rest)) if last.dereference().is_array() => {
                (last.dereference().array(), rest)
            }
            _ => (None, args),
        };
        if triples.is_empty() || triples.len() % 3 != 0 {
            return Self::refuse(self_, "geoAdd takes longitude, latitude and member triples");
        }
        Self::call(
            self_,
            Shape::Raw,
            |c| {
                c.key(key)?;
                for option in options.map(values).unwrap_or_default() {
                    let word = arg(option)?.to_ascii_uppercase();
                    if matches!(word.as_slice(), b"NX" | b"XX" | b"CH") {
                        c.word(word);
                    }
                }
                for triple in triples.chunks(3) {
                    c.float(triple[0])?.float(triple[1])?.value(triple[2])?;
                }
                Ok(())
            },
            "GEOADD",
        )
    }

    /// `geoPos($key, $member, ...)` / `geoHash(...)`: members serialized as phpredis sends them.
    pub(crate) fn geo_members_impl(
        self_: &mut This,
        name: &str,
        key: &Zval,
        members: &[&Zval],
        shape: Shape,
    ) -> PhpResult<Zval> {
        Self::call(
            self_,
            shape,
            |c| {
                c.key(key)?.each(b'v', members)?;
                Ok(())
            },
            name,
        )
    }

    /// `geoDist($key, $src, $dst, $unit = null)`: a float, `false` when a member is missing.
    pub(crate) fn geo_dist_impl(
        self_: &mut This,
        key: &Zval,
        src: &Zval,
        dst: &Zval,
        unit: Option<&Zval>,
    ) -> PhpResult<Zval> {
        Self::call(
            self_,
            Shape::Float,
            |c| {
                c.key(key)?.text(src)?.text(dst)?;
                if let Some(unit) = unit.map(Zval::dereference).filter(|u| !u.is_null()) {
                    c.text(unit)?;
                }
                Ok(())
            },
            "GEODIST",
        )
    }

    /// `geoRadius[_ro]($key, $lng, $lat, $radius, $unit, $options = [])` and
    /// `geoRadiusByMember[_ro]($key, $member, $radius, $unit, $options = [])` (`center` is
    /// `[lng, lat]` or `[member]`). Options: `'WITHCOORD'`, `'WITHDIST'`, `'WITHHASH'`,
    /// `'ASC'`/`'DESC'`, `'count' => n`, `'STORE' => key` / `'STOREDIST' => key`. The reply
    /// as Redis gives it (phpredis's generic shape).
    pub(crate) fn geo_radius_impl(
        self_: &mut This,
        name: &str,
        key: &Zval,
        center: &[&Zval],
        radius: &Zval,
        unit: &Zval,
        options: Option<&ZendHashTable>,
    ) -> PhpResult<Zval> {
        let options = match GeoOptions::of(options)? {
            Ok(options) => options,
            Err(reason) => return Self::refuse(self_, &reason),
        };
        Self::call(
            self_,
            Shape::Raw,
            |c| {
                c.key(key)?;
                match center {
                    [lng, lat] => {
                        c.float(lng)?.float(lat)?;
                    }
                    members => {
                        for member in members {
                            c.text(member)?;
                        }
                    }
                }
                c.float(radius)?.text(unit)?;
                options.append_radius(c);
                Ok(())
            },
            name,
        )
    }

    /// `geoSearch($key, $position, $shape, $unit, $options = [])`: `$position` a member or
    /// `[lng, lat]`, `$shape` a radius or `[width, height]`. Members, or with a WITH* option
    /// phpredis 6's `[member => [dist, hash, [lng, lat]]]` (numbers as floats).
    pub(crate) fn geo_search_impl(
        self_: &mut This,
        key: &Zval,
        position: &Zval,
        shape: &Zval,
        unit: &Zval,
        options: Option<&ZendHashTable>,
    ) -> PhpResult<Zval> {
        let options = match GeoOptions::of(options)? {
            Ok(options) => options,
            Err(reason) => return Self::refuse(self_, &reason),
        };
        let reply = if options.with_any() {
            Shape::GeoSearch
        } else {
            Shape::Raw
        };
        let opts = Self::options(self_)?;
        let mut command = Command::new("GEOSEARCH", &opts);
        command.key(key)?;
        if let Err(reason) = search_origin(&mut command, position, shape, unit)? {
            return Self::refuse(self_, &reason);
        }
        options.append_search(&mut command, false);
        let args = command.args;
        Self::run(self_, args, reply)
    }

    /// `geoSearchStore($dst, $src, $position, $shape, $unit, $options = [])`: how many members
    /// were stored (`'STOREDIST'` among the options stores distances).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn geo_search_store_impl(
        self_: &mut This,
        dst: &Zval,
        src: &Zval,
        position: &Zval,
        shape: &Zval,
        unit: &Zval,
        options: Option<&ZendHashTable>,
    ) -> PhpResult<Zval> {
        let options = match GeoOptions::of(options)? {
            Ok(options) => options,
            Err(reason) => return Self::refuse(self_, &reason),
        };
        let opts = Self::options(self_)?;
        let mut command = Command::new("GEOSEARCHSTORE", &opts);
        command.key(dst)?.key(src)?;
        if let Err(reason) = search_origin(&mut command, position, shape, unit)? {
            return Self::refuse(self_, &reason);
        }
        options.append_search(&mut command, true);
        let args = command.args;
        Self::run(self_, args, Shape::Raw)
    }
}

// ---- replies ----------------------------------------------------------------------------

/// GEOPOS: `[[lng, lat], ...]`, a missing member `[]` (or `null` with
/// `OPT_NULL_MULTIBULK_AS_NULL`), as phpredis reads nested nil lists.
pub fn positions(value: Value, options: &Options) -> Result<Zval, PhpException> {
    let Value::Array(items) = value else {
        return raw(value, options);
    };
    let mut table = ZendHashTable::with_capacity(items.len() as u32);
    for item in items {
        let zval = match item {
            Value::Nil if options.null_multibulk_as_null => Zval::new(),
            Value::Nil => array_zval(ZendHashTable::new()),
            other => raw(other, options)?,
        };
        push(&mut table, zval)?;
    }
    Ok(array_zval(table))
}

/// GEOSEARCH with WITH* options: `[member => [dist, hash, [lng, lat]]]`, text numbers as
/// floats, the hash as an int (phpredis 6's geosearch reply).
pub fn search(value: Value, options: &Options) -> Result<Zval, PhpException> {
    let Value::Array(items) = value else {
        return raw(value, options);
    };
    let mut table = ZendHashTable::with_capacity(items.len() as u32);
    for item in items {
        match item {
            Value::Array(parts) if !parts.is_empty() => {
                let mut parts = parts.into_iter();
                let member = parts.next().unwrap_or(Value::Nil);
                let member = text(&member).map(<[u8]>::to_vec).unwrap_or_default();
                let mut aux = ZendHashTable::new();
                for part in parts {
                    push(&mut aux, as_numbers(part, options)?)?;
                }
                insert_keyed(&mut table, &member, array_zval(aux))?;
            }
            other => push(&mut table, raw(other, options)?)?,
        }
    }
    Ok(array_zval(table))
}

fn as_numbers(value: Value, options: &Options) -> Result<Zval, PhpException> {
    match value {
        Value::Array(items) => {
            let mut table = ZendHashTable::with_capacity(items.len() as u32);
            for item in items {
                push(&mut table, as_numbers(item, options)?)?;
            }
            Ok(array_zval(table))
        }
        Value::BulkString(ref bytes) => {
            match std::str::from_utf8(bytes)
                .ok()
                .and_then(|t| t.parse::<f64>().ok())
            {
                Some(number) => {
                    let mut zval = Zval::new();
                    zval.set_double(number);
                    Ok(zval)
                }
                None => raw(value, options),
            }
        }
        other => raw(other, options),
    }
}
