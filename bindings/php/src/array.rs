//! Reading PHP arrays without surprises: ext-php-rs's `iter()` turns every string key into a
//! Rust `String` (an allocation per key) and panics on a key that is not UTF-8, which PHP
//! allows (`["\xff" => 1]`). Here keys come out as PHP has them: an integer, or bytes.

use ext_php_rs::types::{ZendHashTable, Zval};

/// An array key as PHP stores it.
pub enum Key {
    Index(i64),
    Name(Vec<u8>),
}

impl Key {
    /// The key as the text phpredis sends for it (`1` → "1").
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            Key::Index(index) => index.to_string().into_bytes(),
            Key::Name(name) => name,
        }
    }
}

/// Every `(key, value)` of the array, in its order.
pub fn entries(array: &ZendHashTable) -> Vec<(Key, &Zval)> {
    let mut out = Vec::with_capacity(array.len());
    let mut iter = array.iter();
    while let Some((key, value)) = iter.next_zval() {
        let key = match key.long() {
            Some(index) => Key::Index(index),
            None => Key::Name(
                key.zend_str()
                    .map(|s| s.as_bytes().to_vec())
                    .unwrap_or_default(),
            ),
        };
        out.push((key, value));
    }
    out
}

/// Every value of the array, in its order.
pub fn values(array: &ZendHashTable) -> Vec<&Zval> {
    let mut out = Vec::with_capacity(array.len());
    let mut iter = array.iter();
    while let Some((_, value)) = iter.next_zval() {
        out.push(value);
    }
    out
}

/// Whether the array is a list (keys 0, 1, 2, ... in order).
pub fn is_list(array: &ZendHashTable) -> bool {
    entries(array)
        .iter()
        .enumerate()
        .all(|(i, (key, _))| matches!(key, Key::Index(k) if *k == i as i64))
}

/// Every `(key, value)` with the key as PHP's own zval (a string or an integer), so that
/// string keys can be borrowed rather than copied.
pub fn raw_entries(array: &ZendHashTable) -> Vec<(Zval, &Zval)> {
    let mut out = Vec::with_capacity(array.len());
    let mut iter = array.iter();
    while let Some(entry) = iter.next_zval() {
        out.push(entry);
    }
    out
}
