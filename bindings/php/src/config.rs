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

/// phpredis-style constructor options, mapped onto the core's config keys. Gives whether
/// the client asked for exceptions on error replies (`'exceptions' => true`).
pub fn apply_options(
    config: &mut Map<String, Value>,
    options: &ZendHashTable,
) -> Result<bool, PhpException> {
    let mut throw_errors = false;
    for (key, value) in entries(options) {
        let name = String::from_utf8_lossy(&key.into_bytes()).into_owned();
        if name == "exceptions" {
            throw_errors = value.dereference().coerce_to_bool();
            continue;
        }
        if name == "ssl" || name == "stream" {
            apply_tls_context(config, &name, to_json(value)?)?;
            continue;
        }
        // Not the engine's: which engine (`persistent.rs`).
        if name == "persistent" {
            continue;
        }
        let target = match name.as_str() {
            "timeout" | "connect_timeout" => "socket_connect_timeout",
            "read_timeout" => "socket_timeout",
            "password" | "auth" => "password",
            "username" | "user" => "username",
            "db" | "database" => "db",
            other => {
                return Err(invalid(format!(
                    "unknown option '{other}' (known: timeout, read_timeout, password, username, db, ssl, stream, persistent, exceptions)"
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
    Ok(throw_errors)
}

/// TLS from PHP's stream-context names, as phpredis takes them
/// (`['ssl' => ['cafile' => ..., 'local_cert' => ..., 'local_pk' => ..., 'verify_peer' => ...]]`),
/// onto the core's redis-py-style `ssl*` keys; giving the option turns TLS on.
fn apply_tls_context(
    config: &mut Map<String, Value>,
    option: &str,
    context: Value,
) -> Result<(), PhpException> {
    let Value::Object(context) = context else {
        return Err(invalid(format!(
            "option '{option}' must be an array like ['cafile' => ..., 'verify_peer' => true]"
        )));
    };
    config.insert("ssl".to_owned(), Value::Bool(true));
    for (key, value) in context {
        let (target, value) = match (key.as_str(), value) {
            ("cafile", value) => ("ssl_ca_certs", value),
            ("local_cert", value) => ("ssl_certfile", value),
            ("local_pk", value) => ("ssl_keyfile", value),
            ("verify_peer", Value::Bool(verify)) => (
                "ssl_cert_reqs",
                Value::String(if verify { "required" } else { "none" }.to_owned()),
            ),
            ("verify_peer", _) => {
                return Err(invalid(format!(
                    "option '{option}': 'verify_peer' must be true or false"
                )));
            }
            ("verify_peer_name", value) => ("ssl_check_hostname", value),
            (other, _) => {
                return Err(invalid(format!(
                    "option '{option}': unknown key '{other}' (known: cafile, local_cert, \
                     local_pk, verify_peer, verify_peer_name)"
                )));
            }
        };
        config.insert(target.to_owned(), value);
    }
    Ok(())
}
