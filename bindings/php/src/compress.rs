//! Value compression as phpredis does it (`OPT_COMPRESSION`). Interim: only "none" until the
//! phpredis-compatible codecs land; `from_php` refuses the others, so `setOption` says false.

use std::borrow::Cow;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
}

impl Compression {
    pub fn from_php(code: i64) -> Option<Compression> {
        (code == 0).then_some(Compression::None)
    }

    pub fn php_code(self) -> i64 {
        0
    }
}

pub fn compress(_kind: Compression, _level: i64, value: &[u8]) -> Cow<'_, [u8]> {
    Cow::Borrowed(value)
}

pub fn uncompress(_kind: Compression, value: &[u8]) -> Cow<'_, [u8]> {
    Cow::Borrowed(value)
}
