//! RESP on the wire: requests packed for sending (and unpacked, for what redis-rs hands the
//! `ConnectionLike` handle), replies read from a buffered stream. One reader serves pooled
//! connections and pub/sub alike.

pub mod items;
pub mod reply;
pub mod request;
