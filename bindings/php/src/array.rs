//! Reading PHP arrays without surprises and without per-element calls: ext-php-rs's `iter()`
//! turns every string key into a Rust `String` (an allocation per key) and panics on a key that
//! is not UTF-8, which PHP allows (`["\xff" => 1]`); its `next_zval()` makes four calls into PHP
//! per element (a sixth of an MSET's instructions for 1000 keys). Here the array's own storage
//! is walked, as PHP's `ZEND_HASH_FOREACH` does, and keys come out as PHP has them: an integer,
//! or the bytes of its string.

use ext_php_rs::types::{ZendHashTable, ZendStr, Zval};

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

/// An array key, borrowed from the array.
#[derive(Clone, Copy)]
pub enum KeyRef<'a> {
    Index(i64),
    Name(&'a [u8]),
}

/// `HASH_FLAG_PACKED` (Zend/zend_hash.h): a list stored as bare zvals, no keys.
const HASH_FLAG_PACKED: u32 = 1 << 2;
/// `IS_UNDEF`: a slot left by a deleted element.
const IS_UNDEF: u32 = 0;

fn is_undef(value: &Zval) -> bool {
    // SAFETY: reading the type byte of an initialized zval, as Z_TYPE_INFO does.
    (unsafe { value.u1.type_info } & 0xff) == IS_UNDEF
}

/// Calls `f` with every `(key, value)` of the array, in its order.
pub fn for_each<'a>(array: &'a ZendHashTable, mut f: impl FnMut(KeyRef<'a>, &'a Zval)) {
    let used = array.nNumUsed as usize;
    // SAFETY: `u.flags`, `nNumUsed` and the storage pointer are the array's own fields, read
    // as PHP's ZEND_HASH_FOREACH reads them: a packed array holds `nNumUsed` zvals at
    // `arPacked`, any other `nNumUsed` buckets at `arData`; slots of deleted elements are
    // IS_UNDEF and skipped. The array is borrowed for 'a and PHP does not run meanwhile.
    unsafe {
        if array.u.flags & HASH_FLAG_PACKED != 0 {
            let slots = array.__bindgen_anon_1.arPacked;
            for index in 0..used {
                let value: &'a Zval = &*slots.add(index);
                if !is_undef(value) {
                    f(KeyRef::Index(index as i64), value);
                }
            }
        } else {
            let buckets = array.__bindgen_anon_1.arData;
            for index in 0..used {
                let bucket = &*buckets.add(index);
                let value: &'a Zval = &bucket.val;
                if is_undef(value) {
                    continue;
                }
                let key = match (bucket.key as *const ZendStr).as_ref() {
                    Some(name) => KeyRef::Name(name.as_bytes()),
                    None => KeyRef::Index(bucket.h as i64),
                };
                f(key, value);
            }
        }
    }
}

/// Every `(key, value)` of the array, in its order, keys copied.
pub fn entries(array: &ZendHashTable) -> Vec<(Key, &Zval)> {
    let mut out = Vec::with_capacity(array.len());
    for_each(array, |key, value| {
        let key = match key {
            KeyRef::Index(index) => Key::Index(index),
            KeyRef::Name(name) => Key::Name(name.to_vec()),
        };
        out.push((key, value));
    });
    out
}

/// Every `(key, value)` of the array, in its order, keys borrowed.
pub fn entries_ref(array: &ZendHashTable) -> Vec<(KeyRef<'_>, &Zval)> {
    let mut out = Vec::with_capacity(array.len());
    for_each(array, |key, value| out.push((key, value)));
    out
}

/// Every value of the array, in its order.
pub fn values(array: &ZendHashTable) -> Vec<&Zval> {
    let mut out = Vec::with_capacity(array.len());
    for_each(array, |_, value| out.push(value));
    out
}

/// Whether the array is a list (keys 0, 1, 2, ... in order).
pub fn is_list(array: &ZendHashTable) -> bool {
    let mut next = 0i64;
    let mut list = true;
    for_each(array, |key, _| {
        list &= matches!(key, KeyRef::Index(index) if index == next);
        next += 1;
    });
    list
}
