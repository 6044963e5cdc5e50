//! Reading RESP replies straight from a buffered socket into `redis::Value`s, for pooled
//! connections and pub/sub alike. The engine's own reader because replies are its hot path:
//! redis-rs's combinator parser took a third of the client's CPU time on large replies (MGET of
//! 1000 keys; `benches/resp_reader.rs` measures both on the same bytes). This one reads a
//! header line, then exactly the bytes it announces: one allocation per bulk string, no
//! re-parsing.
//!
//! The engine speaks RESP2 (it never sends HELLO 3); the RESP3 kinds a server could still send
//! (null, double, boolean, map, set, push) are read too, so nothing valid is a protocol error.

use std::io::{self, BufRead};

use redis::Value;

/// Nesting deeper than this is not a reply any command gives: treated as a broken stream rather
/// than followed down the stack.
const MAX_DEPTH: usize = 128;

/// Reads one complete reply. `line` is scratch space for header lines, reused between calls.
pub fn read_value<R: BufRead>(reader: &mut R, line: &mut Vec<u8>) -> io::Result<Value> {
    read_nested(reader, line, 0)
}

pub(super) fn invalid(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("RESP protocol error: {what}"),
    )
}

pub(super) fn read_nested<R: BufRead>(
    reader: &mut R,
    line: &mut Vec<u8>,
    depth: usize,
) -> io::Result<Value> {
    if depth > MAX_DEPTH {
        return Err(invalid("replies nested too deeply"));
    }
    if let Some(value) = read_buffered_scalar(reader)? {
        return Ok(value);
    }
    read_line(reader, line)?;
    read_after_header(reader, line, depth)
}

/// The rest of a reply whose header line (without CRLF) is in `line`.
pub(super) fn read_after_header<R: BufRead>(
    reader: &mut R,
    line: &mut Vec<u8>,
    depth: usize,
) -> io::Result<Value> {
    let (&kind, body) = line.split_first().ok_or_else(|| invalid("empty line"))?;
    match kind {
        b'+' if body == b"OK" => Ok(Value::Okay),
        b'+' => Ok(Value::SimpleString(
            String::from_utf8_lossy(body).into_owned(),
        )),
        b'-' => {
            // Errors are rare: let redis-rs classify the code (WRONGTYPE, NOSCRIPT, ...).
            let mut frame = line.clone();
            frame.extend_from_slice(b"\r\n");
            redis::parse_redis_value(&frame).map_err(|_| invalid("bad error line"))
        }
        b':' => Ok(Value::Int(integer(body)?)),
        b'$' | b'=' => match integer(body)? {
            -1 => Ok(Value::Nil),
            len if len >= 0 => {
                let bytes = read_exact_line(reader, len as usize)?;
                if kind == b'=' {
                    // Verbatim string: "txt:" then the text.
                    let text = String::from_utf8_lossy(bytes.get(4..).unwrap_or_default());
                    let format = String::from_utf8_lossy(bytes.get(..3).unwrap_or_default());
                    return Ok(Value::VerbatimString {
                        format: redis::VerbatimFormat::Unknown(format.into_owned()),
                        text: text.into_owned(),
                    });
                }
                Ok(Value::BulkString(bytes))
            }
            _ => Err(invalid("negative bulk length")),
        },
        b'*' | b'~' | b'>' | b'%' => {
            let count = integer(body)?;
            if count == -1 {
                return Ok(Value::Nil);
            }
            let count = usize::try_from(count).map_err(|_| invalid("negative length"))?;
            let items = if kind == b'%' {
                count
                    .checked_mul(2)
                    .ok_or_else(|| invalid("map too long"))?
            } else {
                count
            };
            // Capacity from the header, bounded: a header alone does not allocate gigabytes.
            let mut values = Vec::with_capacity(items.min(1 << 16));
            for _ in 0..items {
                values.push(read_nested(reader, line, depth + 1)?);
            }
            Ok(match kind {
                b'~' => Value::Set(values),
                b'>' => Value::Push {
                    kind: redis::PushKind::Other(String::new()),
                    data: values,
                },
                b'%' => {
                    let mut pairs = Vec::with_capacity(count);
                    let mut values = values.into_iter();
                    while let (Some(k), Some(v)) = (values.next(), values.next()) {
                        pairs.push((k, v));
                    }
                    Value::Map(pairs)
                }
                _ => Value::Array(values),
            })
        }
        b'_' => Ok(Value::Nil),
        b'#' => match body {
            b"t" => Ok(Value::Boolean(true)),
            b"f" => Ok(Value::Boolean(false)),
            _ => Err(invalid("bad boolean")),
        },
        b',' => std::str::from_utf8(body)
            .ok()
            .and_then(|text| match text {
                "inf" => Some(f64::INFINITY),
                "-inf" => Some(f64::NEG_INFINITY),
                other => other.parse().ok(),
            })
            .map(Value::Double)
            .ok_or_else(|| invalid("bad double")),
        _ => Err(invalid("unknown reply type")),
    }
}

/// A scalar header is at most this long: kind, sign, 19 digits, CRLF, with room to spare.
const SHORT_HEADER: usize = 32;

/// The commonest replies (a bulk string, nil, an integer, `+OK`) read in place when their whole
/// frame is already in the read buffer: no copy of the header into `line`, and the bytes copied
/// once, to their exact size. `None`, with nothing consumed, leaves anything else (another
/// kind, a frame split across reads, a malformed header) to the general path, which reports
/// errors. Most elements of a large reply take this path: it is the MGET and pipeline hot loop.
fn read_buffered_scalar<R: BufRead>(reader: &mut R) -> io::Result<Option<Value>> {
    let buf = match reader.fill_buf() {
        Ok(buf) => buf,
        // The general path's read retries an interrupted read.
        Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(None),
        Err(e) => return Err(e),
    };
    let head = &buf[..buf.len().min(SHORT_HEADER)];
    let Some(newline) = head.iter().position(|&b| b == b'\n') else {
        return Ok(None);
    };
    let [kind, body @ .., b'\r'] = &head[..newline] else {
        return Ok(None);
    };
    let after_header = newline + 1;
    let (value, used) = match kind {
        b'+' if body == b"OK" => (Value::Okay, after_header),
        b':' => match parse_integer(body) {
            Some(int) => (Value::Int(int), after_header),
            None => return Ok(None),
        },
        b'$' => match parse_integer(body) {
            Some(-1) => (Value::Nil, after_header),
            Some(len) if len >= 0 => {
                let Some(end) = usize::try_from(len)
                    .ok()
                    .and_then(|len| after_header.checked_add(len))
                else {
                    return Ok(None);
                };
                if !buf.get(end..).is_some_and(|rest| rest.starts_with(b"\r\n")) {
                    return Ok(None);
                }
                (Value::BulkString(buf[after_header..end].to_vec()), end + 2)
            }
            _ => return Ok(None),
        },
        _ => return Ok(None),
    };
    reader.consume(used);
    Ok(Some(value))
}

/// One header line into `line`, without its CRLF.
pub(super) fn read_line<R: BufRead>(reader: &mut R, line: &mut Vec<u8>) -> io::Result<()> {
    line.clear();
    let read = reader.read_until(b'\n', line)?;
    if read == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed the connection",
        ));
    }
    if !line.ends_with(b"\r\n") {
        return Err(invalid("line without CRLF"));
    }
    line.truncate(line.len() - 2);
    Ok(())
}

/// Bulk strings up to this size are allocated in one go from their header; a larger header
/// (real or garbage) gets its memory as the bytes actually arrive.
const MAX_PREALLOCATED: usize = 64 << 20;

/// `len` bytes followed by CRLF, copied once from the read buffer (no zero-filling first).
fn read_exact_line<R: BufRead>(reader: &mut R, len: usize) -> io::Result<Vec<u8>> {
    let need = len
        .checked_add(2)
        .ok_or_else(|| invalid("bulk string too long"))?;
    let mut bytes = Vec::with_capacity(need.min(MAX_PREALLOCATED));
    while bytes.len() < need {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        let take = available.len().min(need - bytes.len());
        bytes.extend_from_slice(&available[..take]);
        reader.consume(take);
    }
    if !bytes.ends_with(b"\r\n") {
        return Err(invalid("bulk string without CRLF"));
    }
    bytes.truncate(len);
    Ok(bytes)
}

pub(super) fn integer(text: &[u8]) -> io::Result<i64> {
    parse_integer(text).ok_or_else(|| invalid("bad integer"))
}

/// What `str::parse::<i64>` accepts (an optional sign, then ASCII digits, no overflow), without
/// its UTF-8 check and generic parser: every element of a large reply has a length to parse.
pub(super) fn parse_integer(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    let mut value: i64 = 0;
    for &byte in digits {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        // Accumulated with the sign, so i64::MIN parses without overflowing.
        value = value.checked_mul(10)?;
        value = if negative {
            value.checked_sub(i64::from(digit))?
        } else {
            value.checked_add(i64::from(digit))?
        };
    }
    Some(value)
}

#[cfg(test)]
mod fuzz {
    //! The reader on arbitrary bytes (never a panic, an error at worst) and on random valid
    //! replies (read back exactly as written).
    use super::read_value;
    use proptest::prelude::*;
    use redis::Value;

    fn resp(value: &Value, out: &mut Vec<u8>) {
        match value {
            Value::Nil => out.extend_from_slice(b"$-1\r\n"),
            Value::Okay => out.extend_from_slice(b"+OK\r\n"),
            Value::Int(n) => out.extend_from_slice(format!(":{n}\r\n").as_bytes()),
            Value::BulkString(bytes) => {
                out.extend_from_slice(format!("${}\r\n", bytes.len()).as_bytes());
                out.extend_from_slice(bytes);
                out.extend_from_slice(b"\r\n");
            }
            Value::Array(items) => {
                out.extend_from_slice(format!("*{}\r\n", items.len()).as_bytes());
                items.iter().for_each(|item| resp(item, out));
            }
            other => unreachable!("not generated: {other:?}"),
        }
    }

    fn reply() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Nil),
            Just(Value::Okay),
            any::<i64>().prop_map(Value::Int),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::BulkString),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            proptest::collection::vec(inner, 0..8).prop_map(Value::Array)
        })
    }

    /// Bytes that look like RESP often enough to get past the first line.
    fn resp_like() -> impl Strategy<Value = Vec<u8>> {
        let token = prop_oneof![
            Just(b"\r\n".to_vec()),
            Just(b"*".to_vec()),
            Just(b"$".to_vec()),
            Just(b"%".to_vec()),
            Just(b"~".to_vec()),
            Just(b">".to_vec()),
            Just(b"=".to_vec()),
            Just(b",".to_vec()),
            Just(b"#".to_vec()),
            Just(b"-ERR x".to_vec()),
            Just(b"9223372036854775807".to_vec()),
            Just(b"4611686018427387904".to_vec()),
            Just(b"-1".to_vec()),
            Just(b"-2".to_vec()),
            Just(b"3".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..6),
        ];
        proptest::collection::vec(token, 0..24).prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 4000,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn arbitrary_bytes_never_panic(input in prop_oneof![
            resp_like(),
            proptest::collection::vec(any::<u8>(), 0..200),
        ]) {
            let mut rest = input.as_slice();
            let mut line = Vec::new();
            // Read replies until the input is used up or is not RESP.
            for _ in 0..64 {
                if rest.is_empty() || read_value(&mut rest, &mut line).is_err() {
                    break;
                }
            }
        }

        #[test]
        fn valid_replies_read_back_exactly(value in reply()) {
            let mut bytes = Vec::new();
            resp(&value, &mut bytes);
            let mut input = bytes.as_slice();
            let read = read_value(&mut input, &mut Vec::new()).unwrap();
            prop_assert_eq!(read, value);
            prop_assert!(input.is_empty());
        }

        #[test]
        fn integers_parse_as_str_parse_does(text in prop_oneof![
            proptest::string::string_regex("[-+]?[0-9]{0,21}").unwrap(),
            proptest::string::string_regex("[-+0-9a ]{0,6}").unwrap(),
            any::<i64>().prop_map(|n| n.to_string()),
        ]) {
            prop_assert_eq!(super::parse_integer(text.as_bytes()), text.parse::<i64>().ok());
        }

        /// A small read buffer splits frames anywhere: the in-buffer path must hand those to
        /// the general one without losing or re-reading a byte.
        #[test]
        fn frames_split_across_reads_read_back_exactly(
            values in proptest::collection::vec(reply(), 1..6),
            capacity in 1usize..48,
        ) {
            let mut bytes = Vec::new();
            values.iter().for_each(|value| resp(value, &mut bytes));
            let mut reader = std::io::BufReader::with_capacity(capacity, bytes.as_slice());
            let mut line = Vec::new();
            for value in &values {
                prop_assert_eq!(&read_value(&mut reader, &mut line).unwrap(), value);
            }
            prop_assert!(std::io::BufRead::fill_buf(&mut reader).unwrap().is_empty());
        }

        /// With a one-byte buffer only the general path runs: on any input both paths read the
        /// same replies and fail at the same one, with the same error.
        #[test]
        fn the_in_buffer_path_agrees_with_the_general_one(input in prop_oneof![
            resp_like(),
            proptest::collection::vec(any::<u8>(), 0..200),
        ]) {
            let read_all = |capacity: usize| {
                let mut reader = std::io::BufReader::with_capacity(capacity, input.as_slice());
                let mut line = Vec::new();
                let mut out = Vec::new();
                for _ in 0..64 {
                    let result = read_value(&mut reader, &mut line).map_err(|e| e.to_string());
                    let failed = result.is_err();
                    out.push(result);
                    if failed {
                        break;
                    }
                }
                out
            };
            prop_assert_eq!(read_all(input.len().max(1)), read_all(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::read_value;
    use redis::Value;

    fn parse_all(mut input: &[u8]) -> Vec<Value> {
        let mut line = Vec::new();
        let mut out = Vec::new();
        while !input.is_empty() {
            out.push(read_value(&mut input, &mut line).unwrap());
        }
        out
    }

    #[test]
    fn integer_edges() {
        for text in [
            "-9223372036854775808",
            "9223372036854775807",
            "+0",
            "-0",
            "007",
        ] {
            assert_eq!(
                super::parse_integer(text.as_bytes()),
                text.parse().ok(),
                "{text}"
            );
        }
        for text in [
            "-9223372036854775809",
            "9223372036854775808",
            "",
            "-",
            "+",
            "1 ",
            "--1",
        ] {
            assert_eq!(super::parse_integer(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn reads_every_resp2_kind_as_redis_rs_does() {
        let frames: [&[u8]; 11] = [
            b"+OK\r\n",
            b"+PONG\r\n",
            b"-WRONGTYPE Operation against a key\r\n",
            b"-ERR unknown command 'x'\r\n",
            b":-42\r\n",
            b"$5\r\nhello\r\n",
            b"$0\r\n\r\n",
            b"$-1\r\n",
            b"*-1\r\n",
            b"*3\r\n:1\r\n$2\r\n\r\n\r\n*1\r\n*0\r\n",
            b"$4\r\n\x00\xff\r\n\r\n",
        ];
        for frame in frames {
            let theirs = redis::parse_redis_value(frame).unwrap();
            assert_eq!(parse_all(frame), vec![theirs], "{frame:?}");
        }
        // Back to back, as replies arrive.
        assert_eq!(parse_all(&frames.concat()).len(), frames.len());
    }

    #[test]
    fn reads_resp3_kinds_and_refuses_garbage() {
        let values = parse_all(b"_\r\n#t\r\n,1.5\r\n,inf\r\n%1\r\n+a\r\n:1\r\n~1\r\n:2\r\n");
        assert_eq!(values[0], Value::Nil);
        assert_eq!(values[1], Value::Boolean(true));
        assert_eq!(values[2], Value::Double(1.5));
        assert_eq!(values[3], Value::Double(f64::INFINITY));
        assert!(matches!(&values[4], Value::Map(pairs) if pairs.len() == 1));
        assert_eq!(values[5], Value::Set(vec![Value::Int(2)]));
        let mut line = Vec::new();
        for bad in [
            &b"?x\r\n"[..],
            b"$3\r\nab\r\n",
            b":1\n",
            b"$-5\r\n",
            b"",
            b"*1\r\n",
        ] {
            assert!(read_value(&mut &bad[..], &mut line).is_err(), "{bad:?}");
        }
        let deep = "*1\r\n".repeat(200) + ":1\r\n";
        assert!(read_value(&mut deep.as_bytes(), &mut line).is_err());
    }
}
