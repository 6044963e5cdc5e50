//! Reading an array reply element by element into the caller's own values, with no
//! `redis::Value` built for its bulk strings: each is lent to a visitor straight from the read
//! buffer. A binding that makes its language's strings from these slices copies each value
//! once (socket buffer to, say, a PHP string), where the `Value` path copies it twice and
//! allocates and frees a `Vec` per element — most of a client's own work on an MGET of
//! thousands of keys.

use std::io::{self, BufRead};

use redis::Value;

use super::reply::{parse_integer, read_after_header, read_line, read_nested};

/// One element of an array reply, as a visitor sees it.
pub enum Item<'a> {
    /// A bulk string, borrowed for the visit.
    Bytes(&'a [u8]),
    /// Anything else (nil, an integer, a nested reply), read whole.
    Value(Value),
}

/// Reads one reply. An array of `expected` elements is handed to `visit` element by element
/// (its index, the element) and `None` is answered; any other reply (an error reply, nil, an
/// array of another length) is read whole and answered as it is, for the caller to judge.
pub fn read_items<R: BufRead>(
    reader: &mut R,
    line: &mut Vec<u8>,
    expected: usize,
    visit: &mut dyn FnMut(usize, Item<'_>),
) -> io::Result<Option<Value>> {
    read_line(reader, line)?;
    let is_expected_array = matches!(line.split_first(), Some((b'*', count))
        if parse_integer(count).and_then(|n| usize::try_from(n).ok()) == Some(expected));
    if !is_expected_array {
        return read_after_header(reader, line, 0).map(Some);
    }
    for index in 0..expected {
        if !visit_buffered_bulk(reader, index, visit)? {
            match read_nested(reader, line, 1)? {
                Value::BulkString(bytes) => visit(index, Item::Bytes(&bytes)),
                other => visit(index, Item::Value(other)),
            }
        }
    }
    Ok(None)
}

/// A scalar header is at most this long: kind, sign, 19 digits, CRLF, with room to spare.
const SHORT_HEADER: usize = 32;

/// Visits the next element in place when it is a bulk string whose whole frame is already in
/// the read buffer (most elements of a large reply); `false`, with nothing consumed, leaves it
/// to the general reader, which also reports malformed input.
fn visit_buffered_bulk<R: BufRead>(
    reader: &mut R,
    index: usize,
    visit: &mut dyn FnMut(usize, Item<'_>),
) -> io::Result<bool> {
    let buf = match reader.fill_buf() {
        Ok(buf) => buf,
        Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(false),
        Err(e) => return Err(e),
    };
    let head = &buf[..buf.len().min(SHORT_HEADER)];
    let Some(newline) = head.iter().position(|&b| b == b'\n') else {
        return Ok(false);
    };
    let [b'$', length @ .., b'\r'] = &head[..newline] else {
        return Ok(false);
    };
    let start = newline + 1;
    let Some(end) = parse_integer(length)
        .and_then(|len| usize::try_from(len).ok())
        .and_then(|len| start.checked_add(len))
    else {
        return Ok(false);
    };
    if !buf.get(end..).is_some_and(|rest| rest.starts_with(b"\r\n")) {
        return Ok(false);
    }
    visit(index, Item::Bytes(&buf[start..end]));
    reader.consume(end + 2);
    Ok(true)
}

/// Where a gathered element is.
enum Slot {
    Missing,
    /// `bytes[start..end]`.
    Bytes(usize, usize),
    Value(Value),
}

/// One gathered element, as `Elements::each` hands it over.
pub enum Element<'a> {
    /// Never visited (not the case once a read answered by visiting).
    Missing,
    Bytes(&'a [u8]),
    Value(Value),
}

/// The elements of one reply gathered by index while it is read (the visitor of
/// `Cluster::execute_items`): bulk strings back to back in one buffer, so a value is copied
/// once into it with no allocation of its own. A binding makes its language's values from them
/// afterwards, when no connection is checked out any more: its allocator may fail without
/// returning (a PHP fatal error, Python holding the GIL), and must not do so mid-read.
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

    /// Keeps the element at `at`. A later visit of the same place replaces it: a replica's
    /// elements are read again from its master when the replica fails partway.
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

    /// Every element in order (`expected` of them once a read answered by visiting); the
    /// first error `each` returns stops the walk.
    pub fn each<E>(self, mut each: impl FnMut(Element<'_>) -> Result<(), E>) -> Result<(), E> {
        let Elements { bytes, slots, .. } = self;
        for slot in slots {
            each(match slot {
                Slot::Missing => Element::Missing,
                Slot::Bytes(start, end) => Element::Bytes(&bytes[start..end]),
                Slot::Value(value) => Element::Value(value),
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    /// Every element as the visitor saw it, and what was answered instead of items.
    fn visited(
        bytes: &[u8],
        expected: usize,
        buffer: usize,
    ) -> (Vec<Option<Vec<u8>>>, Option<Value>) {
        let mut reader = BufReader::with_capacity(buffer, bytes);
        let mut seen = vec![None; expected];
        let answered = read_items(&mut reader, &mut Vec::new(), expected, &mut |i, item| {
            seen[i] = Some(match item {
                Item::Bytes(b) => b.to_vec(),
                Item::Value(v) => format!("{v:?}").into_bytes(),
            });
        })
        .unwrap();
        (seen, answered)
    }

    #[test]
    fn elements_are_visited_in_order_whatever_the_buffer_size() {
        let reply = b"*4\r\n$3\r\nfoo\r\n$-1\r\n$0\r\n\r\n:7\r\n";
        for buffer in [1, 3, 8, 64] {
            let (seen, answered) = visited(reply, 4, buffer);
            assert_eq!(answered, None);
            assert_eq!(
                seen,
                vec![
                    Some(b"foo".to_vec()),
                    Some(b"nil".to_vec()),
                    Some(Vec::new()),
                    Some(b"int(7)".to_vec()),
                ],
                "buffer {buffer}"
            );
        }
    }

    #[test]
    fn anything_but_the_expected_array_is_answered_whole() {
        let (seen, answered) = visited(b"-ERR no\r\n", 2, 64);
        assert!(matches!(answered, Some(Value::ServerError(_))));
        assert_eq!(seen, vec![None, None]);
        let (seen, answered) = visited(b"*1\r\n$1\r\na\r\n", 2, 64);
        assert_eq!(
            answered,
            Some(Value::Array(vec![Value::BulkString(b"a".to_vec())]))
        );
        assert_eq!(seen, vec![None, None]);
    }

    #[test]
    fn elements_gathered_twice_keep_the_last_visit() {
        // A replica failing partway: its elements, then the master's for the same places.
        let mut elements = Elements::new(3);
        let replica = b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1";
        let master = b"*3\r\n$1\r\nA\r\n$-1\r\n$2\r\nCC\r\n";
        let mut visit = |at: usize, item: Item<'_>| elements.put(at, item);
        let failed = read_items(
            &mut BufReader::new(&replica[..]),
            &mut Vec::new(),
            3,
            &mut visit,
        );
        assert!(failed.is_err());
        let answered = read_items(
            &mut BufReader::new(&master[..]),
            &mut Vec::new(),
            3,
            &mut visit,
        );
        assert_eq!(answered.unwrap(), None);
        let mut seen = Vec::new();
        elements
            .each(|element| {
                seen.push(match element {
                    Element::Missing => "missing".to_owned(),
                    Element::Bytes(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                    Element::Value(value) => format!("{value:?}"),
                });
                Ok::<_, ()>(())
            })
            .unwrap();
        assert_eq!(seen, ["A", "nil", "CC"]);
    }

    #[test]
    fn a_truncated_reply_is_an_error() {
        let mut reader = BufReader::new(&b"*2\r\n$3\r\nfoo\r\n$3\r\nba"[..]);
        let result = read_items(&mut reader, &mut Vec::new(), 2, &mut |_, _| {});
        assert!(result.is_err());
    }
}
