//! Arguments in and replies out, exactly as redis-py encodes and parses them (RESP2 shapes).
//!
//! In: `bytes`, `bytearray` and `memoryview` as they are, `str` as UTF-8, `int` and `float` as their
//! `repr()` text; anything else (`bool` included) is redis-py's `DataError`. A first argument
//! `"CLIENT LIST"` is split on spaces, as redis-py's connection does when packing.
//! Out: bulk and status replies are `bytes` (`str` when decoding), integers `int`, nil `None`,
//! arrays `list`, an error reply inside an array is the exception redis-py would put there,
//! and a per-node answer (a map; RESP2 servers never send one) is a `dict` keyed by node name.

use cluster_core::{Element, Elements, Value};
use pyo3::exceptions::PyUnicodeDecodeError;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyMemoryView, PyString,
};

use crate::errors;

/// One command's arguments, as the bytes that go on the wire.
pub fn command_args(args: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<u8>>> {
    let items = args.try_iter()?.collect::<PyResult<Vec<_>>>()?;
    Ok(borrowed_args(&items)?
        .into_iter()
        .map(|arg| arg.as_ref().to_vec())
        .collect())
}

/// An argument's bytes: borrowed from a `bytes` or `str` object (which the caller keeps alive
/// and nobody can change), or made here (numbers, the words of `"CLIENT LIST"`).
pub enum Arg<'a> {
    Borrowed(&'a [u8]),
    Owned(Vec<u8>),
}

impl AsRef<[u8]> for Arg<'_> {
    fn as_ref(&self) -> &[u8] {
        match self {
            Arg::Borrowed(bytes) => bytes,
            Arg::Owned(bytes) => bytes,
        }
    }
}

/// The arguments of one command without copying `bytes` and `str` arguments: the hot path of
/// every call (an MGET of 1000 keys is 1001 of them).
pub fn borrowed_args<'a>(items: &'a [Bound<'_, PyAny>]) -> PyResult<Vec<Arg<'a>>> {
    let mut out = Vec::with_capacity(items.len() + 1);
    for (position, arg) in items.iter().enumerate() {
        if let Ok(bytes) = arg.cast::<PyBytes>() {
            out.push(Arg::Borrowed(bytes.as_bytes()));
        } else if let Ok(text) = arg.cast::<PyString>() {
            let text = text.to_str()?;
            if position == 0 && text.contains(' ') {
                out.extend(
                    text.split_whitespace()
                        .map(|w| Arg::Owned(w.as_bytes().to_vec())),
                );
            } else {
                out.push(Arg::Borrowed(text.as_bytes()));
            }
        } else {
            out.push(Arg::Owned(encode(arg)?));
        }
    }
    if out.is_empty() {
        return Err(errors::data_error("a command needs at least its name"));
    }
    Ok(out)
}

/// One argument as redis-py's `Encoder.encode` turns it into bytes.
pub fn encode(arg: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(bytes) = arg.cast::<PyBytes>() {
        return Ok(bytes.as_bytes().to_vec());
    }
    if let Ok(text) = arg.cast::<PyString>() {
        return Ok(text.to_str()?.as_bytes().to_vec());
    }
    if arg.is_instance_of::<PyBool>() {
        return Err(errors::invalid_input("bool"));
    }
    if arg.is_instance_of::<PyInt>() || arg.is_instance_of::<PyFloat>() {
        // repr(), as redis-py: 1.5 -> "1.5", 1e+20 -> "1e+20", and int subclasses alike.
        return Ok(arg.repr()?.to_str()?.as_bytes().to_vec());
    }
    if let Ok(bytes) = arg.cast::<PyByteArray>() {
        return Ok(bytes.to_vec());
    }
    if arg.is_instance_of::<PyMemoryView>() {
        return Ok(arg
            .call_method0("tobytes")?
            .cast::<PyBytes>()?
            .as_bytes()
            .to_vec());
    }
    Err(errors::invalid_input(arg.get_type().name()?.to_str()?))
}

/// A reply as redis-py's RESP2 parser builds it; `decode` turns text into `str` (UTF-8).
pub fn reply(py: Python<'_>, value: Value, decode: bool) -> PyResult<Py<PyAny>> {
    Ok(match value {
        Value::Nil => py.None(),
        Value::Int(int) => int.into_pyobject(py)?.into_any().unbind(),
        Value::BulkString(bytes) => text(py, &bytes, decode)?,
        Value::SimpleString(status) => text(py, status.as_bytes(), decode)?,
        Value::Okay => text(py, b"OK", decode)?,
        Value::Array(items) | Value::Set(items) | Value::Push { data: items, .. } => {
            list(py, items, decode)?
        }
        Value::Map(pairs) => {
            let dict = PyDict::new(py);
            for (key, value) in pairs {
                // The keys of a per-node answer are node names: always text.
                dict.set_item(reply(py, key, true)?, reply(py, value, decode)?)?;
            }
            dict.into_any().unbind()
        }
        Value::Attribute { data, .. } => reply(py, *data, decode)?,
        Value::Double(float) => PyFloat::new(py, float).into_any().unbind(),
        Value::Boolean(flag) => PyBool::new(py, flag).to_owned().into_any().unbind(),
        Value::BigNumber(number) => py
            .get_type::<PyInt>()
            .call1((String::from_utf8_lossy(&number).into_owned(),))?
            .unbind(),
        Value::VerbatimString { text: body, .. } => text(py, body.as_bytes(), decode)?,
        Value::ServerError(error) => errors::server_error_object(py, &errors::server_text(&error))?,
        // Future RESP kinds the engine does not produce today.
        _ => py.None(),
    })
}

/// A split read's elements, gathered while the GIL was released (`Cluster::execute_items`), as
/// the list redis-py's parser would build: one Python object per value, made from the gathered
/// bytes, with no `Vec` or `Value` of its own.
pub fn elements_list(py: Python<'_>, elements: Elements, decode: bool) -> PyResult<Py<PyAny>> {
    let mut objects = Vec::new();
    elements.each(|element| {
        objects.push(match element {
            Element::Missing => py.None(),
            Element::Bytes(bytes) => text(py, bytes, decode)?,
            Element::Value(value) => reply(py, value, decode)?,
        });
        Ok::<_, PyErr>(())
    })?;
    Ok(PyList::new(py, objects)?.into_any().unbind())
}

fn list(py: Python<'_>, items: Vec<Value>, decode: bool) -> PyResult<Py<PyAny>> {
    let converted = items
        .into_iter()
        .map(|item| reply(py, item, decode))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(PyList::new(py, converted)?.into_any().unbind())
}

fn text(py: Python<'_>, bytes: &[u8], decode: bool) -> PyResult<Py<PyAny>> {
    if !decode {
        return Ok(PyBytes::new(py, bytes).into_any().unbind());
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(PyString::new(py, text).into_any().unbind()),
        // What bytes.decode("utf-8") raises, so redis-py users see the same error.
        Err(error) => Err(PyErr::from_value(
            PyUnicodeDecodeError::new_utf8(py, bytes, error)?.into_any(),
        )),
    }
}
