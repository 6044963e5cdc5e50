//! A Python config (the seed's dict shape) to the JSON value the core validates. Only the
//! shape is converted here; every rule about what is allowed lives in the core.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// Nesting deeper than this is not a config (and must not exhaust the stack).
const MAX_DEPTH: usize = 16;

pub fn to_json(object: &Bound<'_, PyAny>) -> PyResult<Value> {
    convert(object, 0)
}

fn convert(object: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyTypeError::new_err(
            "the cluster config is nested too deeply",
        ));
    }
    if object.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(flag) = object.cast::<PyBool>() {
        return Ok(Value::Bool(flag.is_true()));
    }
    if object.is_instance_of::<PyInt>() {
        // Integers beyond i64 become text, which the core reports as a wrong type.
        return Ok(match object.extract::<i64>() {
            Ok(int) => Value::Number(int.into()),
            Err(_) => Value::String(object.str()?.to_string()),
        });
    }
    if let Ok(float) = object.cast::<PyFloat>() {
        let value = float.value();
        return Ok(Number::from_f64(value)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(value.to_string())));
    }
    if let Ok(text) = object.cast::<PyString>() {
        return Ok(Value::String(text.to_str()?.to_owned()));
    }
    if let Ok(dict) = object.cast::<PyDict>() {
        let mut map = Map::new();
        for (key, value) in dict.iter() {
            let key = match key.cast::<PyString>() {
                Ok(text) => text.to_str()?.to_owned(),
                Err(_) => key.str()?.to_string(),
            };
            map.insert(key, convert(&value, depth + 1)?);
        }
        return Ok(Value::Object(map));
    }
    if object.is_instance_of::<PyList>() || object.is_instance_of::<PyTuple>() {
        let items = object
            .try_iter()?
            .map(|item| convert(&item?, depth + 1))
            .collect::<PyResult<Vec<_>>>()?;
        return Ok(Value::Array(items));
    }
    // Anything else (bytes, objects) is shown to the core as its text so the core's error
    // names the option and what it got.
    Ok(Value::String(format!(
        "<{}>",
        object.get_type().name()?.to_str()?
    )))
}
