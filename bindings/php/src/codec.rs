//! Values as phpredis stores them: serialized by the client's serializer (`OPT_SERIALIZER`),
//! then compressed (`OPT_COMPRESSION`); read back the other way. The serializers are PHP's
//! own functions (`serialize`, `json_encode`, `igbinary_serialize`), called here, so a value
//! phpredis wrote is read back byte for byte and the reverse: phpredis calls the same code.

use ext_php_rs::exception::PhpException;
use ext_php_rs::types::Zval;
use ext_php_rs::zend::{ExecutorGlobals, Function};

use crate::compress::{self, Compression};
use crate::convert::arg;
use crate::errors::invalid;

/// phpredis's `Redis::SERIALIZER_*` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Serializer {
    None = 0,
    Php = 1,
    Igbinary = 2,
    Msgpack = 3,
    Json = 4,
}

impl Serializer {
    /// The serializer for a phpredis code, if its PHP functions are loaded in this process.
    pub fn from_php(code: i64) -> Option<Serializer> {
        let serializer = match code {
            0 => Serializer::None,
            1 => Serializer::Php,
            2 => Serializer::Igbinary,
            3 => Serializer::Msgpack,
            4 => Serializer::Json,
            _ => return None,
        };
        let available = match serializer {
            Serializer::Igbinary => Function::try_from_function("igbinary_serialize").is_some(),
            Serializer::Msgpack => Function::try_from_function("msgpack_serialize").is_some(),
            _ => true,
        };
        available.then_some(serializer)
    }

    fn functions(self) -> Option<(&'static str, &'static str)> {
        match self {
            Serializer::None => None,
            Serializer::Php => Some(("serialize", "unserialize")),
            Serializer::Igbinary => Some(("igbinary_serialize", "igbinary_unserialize")),
            Serializer::Msgpack => Some(("msgpack_serialize", "msgpack_unserialize")),
            Serializer::Json => Some(("json_encode", "json_decode")),
        }
    }
}

/// How values are written and read: the serializer, then the compression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Codec {
    pub serializer: Serializer,
    pub compression: Compression,
    pub level: i64,
}

impl Default for Codec {
    fn default() -> Self {
        Codec {
            serializer: Serializer::None,
            compression: Compression::None,
            level: 0,
        }
    }
}

impl Codec {
    /// Values go as they are (the common case: no copy, no call into PHP).
    pub fn is_plain(&self) -> bool {
        self.serializer == Serializer::None && self.compression == Compression::None
    }

    /// `_serialize()`: the serializer only.
    pub fn serialize(&self, value: &Zval) -> Result<Vec<u8>, PhpException> {
        let Some((function, _)) = self.serializer.functions() else {
            return plain_bytes(value);
        };
        let out = call(function, &[value])?;
        match out.zend_str() {
            Some(text) => Ok(text.as_bytes().to_vec()),
            // json_encode gives false for what it cannot encode (NAN, bad UTF-8).
            None => Err(invalid(format!(
                "the value could not be serialized with {function}()"
            ))),
        }
    }

    /// `_unserialize()`: the serializer only; bytes it cannot read come back as a string,
    /// as phpredis returns them.
    pub fn unserialize(&self, bytes: &[u8]) -> Result<Zval, PhpException> {
        let mut text = Zval::new();
        text.set_binary(bytes.to_vec());
        let Some((_, function)) = self.serializer.functions() else {
            return Ok(text);
        };
        let out = if self.serializer == Serializer::Json {
            let mut assoc = Zval::new();
            assoc.set_bool(true);
            call(function, &[&text, &assoc])?
        } else {
            call(function, &[&text])?
        };
        // `unserialize` answers false for what it cannot read, and for the serialized
        // `false` itself ("b:0;"), which must stay false.
        let unreadable = out.is_false() && !self.is_serialized_false(bytes)?;
        let unreadable = unreadable
            || (self.serializer == Serializer::Json && out.is_null() && bytes != b"null");
        Ok(if unreadable { text } else { out })
    }

    /// The bytes sent for a value: serialized, then compressed.
    pub fn pack(&self, value: &Zval) -> Result<Vec<u8>, PhpException> {
        let bytes = self.serialize(value)?;
        Ok(compress::compress(self.compression, self.level, &bytes).into_owned())
    }

    /// A value read back: uncompressed, then unserialized.
    pub fn unpack(&self, bytes: &[u8]) -> Result<Zval, PhpException> {
        if self.compression == Compression::None {
            return self.unserialize(bytes);
        }
        let bytes = compress::uncompress(self.compression, bytes);
        self.unserialize(&bytes)
    }
}

impl Codec {
    /// Whether `bytes` are the serializer's own encoding of `false`.
    fn is_serialized_false(&self, bytes: &[u8]) -> Result<bool, PhpException> {
        Ok(match self.serializer {
            Serializer::None => false,
            Serializer::Php => bytes == b"b:0;",
            Serializer::Json => bytes == b"false",
            Serializer::Igbinary | Serializer::Msgpack => {
                let mut no = Zval::new();
                no.set_bool(false);
                self.serialize(&no)? == bytes
            }
        })
    }
}

/// A value as phpredis sends it without a serializer: arrays as "Array" (PHP's own string
/// conversion, which phpredis uses), everything else as `arg` gives it.
fn plain_bytes(value: &Zval) -> Result<Vec<u8>, PhpException> {
    let value = value.dereference();
    if value.is_array() {
        return Ok(b"Array".to_vec());
    }
    if value.is_object() {
        return Ok(b"Object".to_vec());
    }
    arg(value)
}

/// Calls a PHP function silently, as `@function(...)`: data a serializer cannot read is
/// answered as it is (phpredis's behaviour), and the library never prints, so the notice
/// `unserialize()` raises for it must not reach the page or the log.
fn call(function: &str, params: &[&Zval]) -> Result<Zval, PhpException> {
    let Some(callable) = Function::try_from_function(function) else {
        return Err(invalid(format!(
            "{function}() is not available in this PHP"
        )));
    };
    let params: Vec<&dyn ext_php_rs::convert::IntoZvalDyn> = params
        .iter()
        .map(|z| *z as &dyn ext_php_rs::convert::IntoZvalDyn)
        .collect();
    let saved = std::mem::replace(&mut ExecutorGlobals::get_mut().error_reporting, 0);
    let result = callable.try_call(params);
    ExecutorGlobals::get_mut().error_reporting = saved;
    result.map_err(|e| invalid(format!("{function}() failed: {e}")))
}
