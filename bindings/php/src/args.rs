//! PHP arguments to command bytes, as phpredis sends them: keys with the client's prefix,
//! values through its serializer, the rest as text; arrays flattened where phpredis takes a
//! list or `[field => value]`.

use ext_php_rs::exception::PhpException;
use ext_php_rs::types::{ZendHashTable, Zval};

use crate::array::{entries, is_list, values};
use crate::convert::arg;
use crate::errors::invalid;
use crate::methods::Method;
use crate::options::Options;

/// A command being built.
pub struct Command<'o> {
    pub args: Vec<Vec<u8>>,
    options: &'o Options,
}

impl<'o> Command<'o> {
    pub fn new(name: &str, options: &'o Options) -> Command<'o> {
        let mut args = Vec::with_capacity(4);
        match name.split_once(' ') {
            // A subcommand: `CONFIG GET`.
            Some((command, sub)) => {
                args.push(command.as_bytes().to_vec());
                args.push(sub.as_bytes().to_vec());
            }
            None => args.push(name.as_bytes().to_vec()),
        }
        Command { args, options }
    }

    pub fn word(&mut self, word: impl Into<Vec<u8>>) -> &mut Self {
        self.args.push(word.into());
        self
    }

    pub fn text(&mut self, value: &Zval) -> Result<&mut Self, PhpException> {
        self.args.push(arg(value)?);
        Ok(self)
    }

    pub fn key(&mut self, key: &Zval) -> Result<&mut Self, PhpException> {
        let key = self.options.key(arg(key)?);
        self.args.push(key);
        Ok(self)
    }

    pub fn key_bytes(&mut self, key: Vec<u8>) -> &mut Self {
        let key = self.options.key(key);
        self.args.push(key);
        self
    }

    pub fn value(&mut self, value: &Zval) -> Result<&mut Self, PhpException> {
        let plain_scalar = {
            let v = value.dereference();
            !(v.is_array() || v.is_object())
        };
        let bytes = if self.options.codec.is_plain() && plain_scalar {
            arg(value)?
        } else {
            self.options.codec.pack(value)?
        };
        self.args.push(bytes);
        Ok(self)
    }

    pub fn int(&mut self, value: &Zval) -> &mut Self {
        self.args.push(integer(value).to_string().into_bytes());
        self
    }

    pub fn float(&mut self, value: &Zval) -> Result<&mut Self, PhpException> {
        let value = value.dereference();
        match value.zend_str() {
            // Already text ("+inf", "1.5"): as given, as phpredis sends it.
            Some(_) => self.text(value),
            None => {
                self.args
                    .push(crate::convert::float_text(float(value)).into_bytes());
                Ok(self)
            }
        }
    }

    /// Every element of `values`, arrays flattened (lists give their values), each as `role`.
    pub fn each(&mut self, role: u8, values: &[&Zval]) -> Result<&mut Self, PhpException> {
        for value in values {
            let value = value.dereference();
            // `V`: each argument is one value, an array too (serialized, or "Array").
            let array = if role == b'V' { None } else { value.array() };
            match array {
                Some(array) => {
                    for item in crate::array::values(array) {
                        self.one(role, item)?;
                    }
                }
                None => {
                    self.one(role, value)?;
                }
            }
        }
        Ok(self)
    }

    /// Every `[field => value]` pair of an array, values as values.
    pub fn pairs(&mut self, array: &ZendHashTable) -> Result<&mut Self, PhpException> {
        for (field, value) in entries(array) {
            self.args.push(field.into_bytes());
            self.value(value)?;
        }
        Ok(self)
    }

    fn one(&mut self, role: u8, value: &Zval) -> Result<&mut Self, PhpException> {
        match role.to_ascii_lowercase() {
            b'k' => self.key(value),
            b'v' | b'w' => self.value(value),
            b'i' => Ok(self.int(value)),
            b'f' => self.float(value),
            _ => self.text(value),
        }
    }

    /// The arguments of a table method (see `methods.rs` for the pattern letters).
    pub fn pattern(&mut self, method: &Method, given: &[&Zval]) -> Result<&mut Self, PhpException> {
        let pattern = method.args.as_bytes();
        let rest = pattern.iter().position(u8::is_ascii_uppercase);
        let Some(rest) = rest else {
            if given.len() > pattern.len() {
                return Err(invalid(format!(
                    "{}: at most {} arguments, {} given",
                    method.command.to_ascii_lowercase(),
                    pattern.len(),
                    given.len()
                )));
            }
            for (role, value) in pattern.iter().zip(given) {
                self.one(*role, value)?;
            }
            return Ok(self);
        };
        // Letters before the upper-case one take the first arguments, letters after it the
        // last ones (`Kf`: keys, then a timeout), the upper-case one everything between.
        let head = &pattern[..rest];
        let tail = &pattern[rest + 1..];
        let head_len = head.len().min(given.len());
        for (role, value) in head.iter().zip(&given[..head_len]) {
            self.one(*role, value)?;
        }
        let remaining = &given[head_len..];
        let tail_len = tail.len().min(remaining.len());
        let (middle, last) = remaining.split_at(remaining.len() - tail_len);
        self.each(pattern[rest], middle)?;
        for (role, value) in tail.iter().zip(last) {
            self.one(*role, value)?;
        }
        Ok(self)
    }
}

/// Flattens PHP arguments the way phpredis accepts them: a list gives its values, an
/// associative array its key/value pairs (`hSet($k, ['f' => 'v'])`), a scalar itself.
pub fn flatten(values_in: &[&Zval], out: &mut Vec<Vec<u8>>) -> Result<(), PhpException> {
    for value in values_in {
        let value = value.dereference();
        match value.array() {
            Some(array) => {
                let list = is_list(array);
                out.reserve(array.len() * 2);
                for (key, item) in entries(array) {
                    if !list {
                        out.push(key.into_bytes());
                    }
                    out.push(arg(item)?);
                }
            }
            None => out.push(arg(value)?),
        }
    }
    Ok(())
}

/// `values()` of an array argument, or the argument itself.
pub fn list_or_one(value: &Zval) -> Vec<&Zval> {
    let value = value.dereference();
    match value.array() {
        Some(array) => values(array),
        None => vec![value],
    }
}

/// PHP's `zval_get_long`: what phpredis sends for an integer argument.
pub fn integer(value: &Zval) -> i64 {
    let value = value.dereference();
    if let Some(int) = value.long() {
        return int;
    }
    if let Some(float) = value.double() {
        return float as i64;
    }
    if let Some(flag) = value.bool() {
        return i64::from(flag);
    }
    match value.str() {
        Some(text) => leading_integer(text),
        None => 0,
    }
}

/// PHP's string-to-int: the leading integer of the text, 0 when there is none ("12abc" is 12).
fn leading_integer(text: &str) -> i64 {
    let text = text.trim_start();
    let end = text
        .char_indices()
        .take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && (*c == '-' || *c == '+')))
        .map(|(i, c)| i + c.len_utf8())
        .last()
        .unwrap_or(0);
    text[..end].parse().unwrap_or(0)
}

/// PHP's `zval_get_double`.
pub fn float(value: &Zval) -> f64 {
    let value = value.dereference();
    if let Some(float) = value.double() {
        return float;
    }
    if let Some(int) = value.long() {
        return int as f64;
    }
    if let Some(flag) = value.bool() {
        return f64::from(u8::from(flag));
    }
    value
        .str()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0.0)
}
