//! The constructor's PHP arrays to the JSON value the core validates: the seed's shape
//! (`['nodes' => ['node_1' => ['host' => ..., 'port' => ...]], 'master_of' => ...]`) plus
//! phpredis-style options. Only shapes are converted here; the rules live in the core.

use ext_php_rs::types::{ZendHashTable, Zval};
use serde_json::{Map, Number, Value};

use crate::array::{entries, is_list, values};
use crate::errors::invalid;
use ext_php_rs::exception::PhpException;

const MAX_DEPTH: usize = 16;

/// A PHP value as JSON: arrays with keys 0..n-1 become lists, other arrays maps.
pub fn to_json(value: &Zval) -> Result<Value, PhpException> {
    convert(value, 0)
}

fn convert(value: &Zval, depth: usize) -> Result<Value, PhpException> {
    if depth > MAX_DEPTH {
        return Err(invalid("the cluster config is nested too deeply"));
    }
    let value = value.dereference();
    Ok(if value.is_null() {
        Value::Null
    } else if let Some(flag) = value.bool() {
        Value::Bool(flag)
    } else if let Some(int) = value.long() {
        Value::Number(int.into())
    } else if let Some(float) = value.double() {
        Number::from_f64(float).map_or(Value::String(float.to_string()), Value::Number)
    } else if let Some(text) = value.zend_str() {
        Value::String(String::from_utf8_lossy(text.as_bytes()).into_owned())
    } else if let Some(array) = value.array() {
        array_to_json(array, depth)?
    } else {
        Value::String(format!("<{:?}>", value.get_type()))
    })
}

fn array_to_json(array: &ZendHashTable, depth: usize) -> Result<Value, PhpException> {
    if is_list(array) && !array.is_empty() {
        return Ok(Value::Array(
            values(array)
                .into_iter()
                .map(|v| convert(v, depth + 1))
                .collect::<Result<_, _>>()?,
        ));
    }
    let mut map = Map::new();
    for (key, item) in entries(array) {
        let key = String::from_utf8_lossy(&key.into_bytes()).into_owned();
        map.insert(key, convert(item, depth + 1)?);
    }
    Ok(Value::Object(map))
}

/// phpredis-style constructor options, mapped onto the core's config keys.
pub fn apply_options(
    config: &mut Map<String, Value>,
    options: &ZendHashTable,
) -> Result<(), PhpException> {
    for (key, value) in entries(options) {
        let name = String::from_utf8_lossy(&key.into_bytes()).into_owned();
        let target = match name.as_str() {
            "timeout" | "connect_timeout" => "socket_connect_timeout",
            "read_timeout" => "socket_timeout",
            "password" | "auth" => "password",
            "username" | "user" => "username",
            "db" | "database" => "db",
            other => {
                return Err(invalid(format!(
                    "unknown option '{other}' (known: timeout, read_timeout, password, username, db)"
                )));
            }
        };
        let value = to_json(value)?;
        // phpredis takes 0 for "no timeout".
        let value = match (target, &value) {
            ("socket_connect_timeout" | "socket_timeout", Value::Number(n))
                if n.as_f64() == Some(0.0) =>
            {
                Value::Null
            }
            _ => value,
        };
        if !value.is_null() {
            config.insert(target.to_owned(), value);
        }
    }
    Ok(())
}
