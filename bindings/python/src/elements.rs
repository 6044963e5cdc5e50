//! A split read's elements (MGET over several masters) gathered while the GIL is released:
//! bulk strings back to back in one buffer, then one Python object each under the GIL. The
//! engine lends each value straight from its read buffer (`Cluster::execute_items`), so a value
//! is copied into this buffer and into its `bytes`, with no `Vec` and no `Value` of its own.

use cluster_core::{Item, Value};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::convert::{reply, text};

/// Where an element is.
enum Slot {
    /// Not visited (never the case once a read answered by visiting): `None` in Python.
    Missing,
    /// `bytes[start..end]`.
    Bytes(usize, usize),
    Value(Value),
}

/// The elements of one reply, by their index in it.
pub struct Elements {
    expected: usize,
    bytes: Vec<u8>,
    slots: Vec<Slot>,
}

impl Elements {
    /// For a reply of at most `expected` elements (room is taken at the first element only:
    /// a command that is not split never visits).
    pub fn new(expected: usize) -> Elements {
        Elements {
            expected,
            bytes: Vec::new(),
            slots: Vec::new(),
        }
    }

    /// Keeps the element at `at` (a later visit of the same place replaces it: a replica's
    /// elements are read again from its master when the replica fails midway).
    pub fn put(&mut self, at: usize, item: Item<'_>) {
        if self.slots.is_empty() {
            self.slots.resize_with(self.expected, || Slot::Missing);
        }
        let Some(slot) = self.slots.get_mut(at) else {
            return;
        };
        *slot = match item {
            Item::Bytes(bytes) => {
                let start = self.bytes.len();
                self.bytes.extend_from_slice(bytes);
                Slot::Bytes(start, self.bytes.len())
            }
            Item::Value(value) => Slot::Value(value),
        };
    }

    /// The list redis-py's parser would build for the reply.
    pub fn into_list(self, py: Python<'_>, decode: bool) -> PyResult<Py<PyAny>> {
        let Elements { bytes, slots, .. } = self;
        let objects = slots
            .into_iter()
            .map(|slot| match slot {
                Slot::Missing => Ok(py.None()),
                Slot::Bytes(start, end) => text(py, &bytes[start..end], decode),
                Slot::Value(value) => reply(py, value, decode),
            })
            .collect::<PyResult<Vec<_>>>()?;
        Ok(PyList::new(py, objects)?.into_any().unbind())
    }
}
