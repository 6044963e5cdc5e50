//! RESP requests: argument lists packed for the wire (with tag-stripped keys put in place), and
//! packed commands read back into argument lists (what `redis::ConnectionLike` hands us).

/// Packs `args` as one RESP array of bulk strings, with `replacements[i] = (index, bytes)`
/// substituted for the argument at `index` (indices ascending).
pub fn pack_command<A: AsRef<[u8]>>(
    args: &[A],
    replacements: &[(usize, &[u8])],
    out: &mut Vec<u8>,
) {
    let mut replacements = replacements.iter().peekable();
    // One allocation for the whole command (an MGET of 1000 keys grew its buffer a dozen
    // times): the arguments plus a generous header each; a replacement (a stored key) is never
    // longer than the argument it replaces.
    out.reserve(
        args.iter()
            .map(|arg| arg.as_ref().len() + 16)
            .sum::<usize>()
            + 16,
    );
    push_header(out, b'*', args.len());
    for (i, arg) in args.iter().enumerate() {
        let bytes = match replacements.peek() {
            Some((at, bytes)) if *at == i => {
                replacements.next();
                *bytes
            }
            _ => arg.as_ref(),
        };
        push_header(out, b'$', bytes.len());
        out.extend_from_slice(bytes);
        out.extend_from_slice(b"\r\n");
    }
}

/// The arguments of one packed command (`pack_command`'s output); `None` when `packed` is not
/// exactly one.
pub fn parse_one_command(packed: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut commands = parse_commands(packed).ok()?;
    let args = commands.pop()?;
    commands.is_empty().then_some(args)
}

fn push_header(out: &mut Vec<u8>, kind: u8, len: usize) {
    // Most lengths have one or two digits (key and value sizes, argument counts): one
    // fixed-size write each, which compiles to a few stores instead of three small copies.
    if len < 10 {
        out.extend_from_slice(&[kind, b'0' + len as u8, b'\r', b'\n']);
        return;
    }
    if len < 100 {
        let (tens, ones) = ((len / 10) as u8, (len % 10) as u8);
        out.extend_from_slice(&[kind, b'0' + tens, b'0' + ones, b'\r', b'\n']);
        return;
    }
    out.push(kind);
    let mut digits = [0u8; 20];
    let mut n = len;
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
    out.extend_from_slice(b"\r\n");
}

/// Splits packed RESP requests (arrays of bulk strings, as redis-rs writes them) back into
/// argument lists. Anything else is a framing error, reported as text. The input may come from
/// anyone (`req_packed_command` is public): no length in it is trusted further than the input
/// itself reaches, so a malformed frame is an error, never a panic or a huge allocation.
pub fn parse_commands(mut input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, String> {
    let mut commands = Vec::new();
    while !input.is_empty() {
        let (count, rest) = read_header(input, b'*')?;
        input = rest;
        // Every argument takes at least four bytes (`$0\r\n` and its `\r\n`).
        if count > input.len() / 4 {
            return Err("a packed command announces more arguments than it holds".to_owned());
        }
        let mut args = Vec::with_capacity(count);
        for _ in 0..count {
            let (len, rest) = read_header(input, b'$')?;
            let end = len
                .checked_add(2)
                .filter(|&end| end <= rest.len() && &rest[len..end] == b"\r\n")
                .ok_or("truncated bulk string in a packed command")?;
            args.push(rest[..len].to_vec());
            input = &rest[end..];
        }
        commands.push(args);
    }
    Ok(commands)
}

fn read_header(input: &[u8], kind: u8) -> Result<(usize, &[u8]), String> {
    if input.first() != Some(&kind) {
        return Err(format!("expected '{}' in a packed command", kind as char));
    }
    let end = input
        .windows(2)
        .position(|w| w == b"\r\n")
        .ok_or("unterminated header in a packed command")?;
    let digits = &input[1..end];
    let number = std::str::from_utf8(digits)
        .ok()
        .filter(|text| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|text| text.parse::<usize>().ok())
        .ok_or("bad length in a packed command")?;
    Ok((number, &input[end + 2..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly_one_command() {
        let mut packed = Vec::new();
        pack_command(&["GETRANGE", "bar{foo}", "0", "-1"], &[], &mut packed);
        let args = parse_one_command(&packed).unwrap();
        assert_eq!(args, [&b"GETRANGE"[..], b"bar{foo}", b"0", b"-1"]);
        let twice = [packed.clone(), packed].concat();
        assert_eq!(parse_one_command(&twice), None);
        assert_eq!(parse_one_command(b"*1\r\n$9\r\nGET"), None);
        assert_eq!(parse_one_command(b""), None);
    }

    #[test]
    fn packs_with_replacements_and_parses_back() {
        let mut out = Vec::new();
        pack_command(&["SET", "bar{foo}", "1"], &[(1, b"bar")], &mut out);
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$3\r\nbar\r\n$1\r\n1\r\n");
        pack_command(&[&b""[..], &[0u8, 255][..]], &[], &mut out);
        let parsed = parse_commands(&out).unwrap();
        assert_eq!(
            parsed[0],
            vec![b"SET".to_vec(), b"bar".to_vec(), b"1".to_vec()]
        );
        assert_eq!(parsed[1], vec![b"".to_vec(), vec![0u8, 255]]);
    }

    #[test]
    fn headers_are_decimal_at_every_width() {
        let lengths = (0..=1_000).chain([9_999, 10_000, 123_456_789, usize::MAX]);
        for len in lengths {
            let mut out = Vec::new();
            push_header(&mut out, b'$', len);
            assert_eq!(out, format!("${len}\r\n").as_bytes(), "{len}");
        }
    }

    #[test]
    fn rejects_bad_framing() {
        assert!(parse_commands(b"*1\r\n$5\r\nab\r\n").is_err());
        assert!(parse_commands(b"PING\r\n").is_err());
        assert!(parse_commands(b"*x\r\n").is_err());
        assert!(parse_commands(b"*+1\r\n$1\r\na\r\n").is_err());
    }

    /// Lengths that overflowed `len + 2` or asked for a huge vector (found in review: a
    /// panic, and an abort on allocation).
    #[test]
    fn lengths_are_not_trusted() {
        let huge = format!("*1\r\n${}\r\nab\r\n", usize::MAX);
        assert!(parse_commands(huge.as_bytes()).is_err());
        let many = format!("*{}\r\n$1\r\na\r\n", usize::MAX);
        assert!(parse_commands(many.as_bytes()).is_err());
        let too_many = format!("*{}\r\n$1\r\na\r\n", 1u64 << 40);
        assert!(parse_commands(too_many.as_bytes()).is_err());
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        /// RESP-like bytes: headers with any numbers (huge ones too), short payloads, CRLFs.
        fn resp_like() -> impl Strategy<Value = Vec<u8>> {
            let piece = prop_oneof![
                any::<u64>().prop_map(|n| format!("*{n}\r\n").into_bytes()),
                any::<u64>().prop_map(|n| format!("${n}\r\n").into_bytes()),
                (0usize..4).prop_map(|n| format!("*{n}\r\n").into_bytes()),
                (0usize..6).prop_map(|n| format!("${n}\r\n").into_bytes()),
                proptest::collection::vec(any::<u8>(), 0..8),
                Just(b"\r\n".to_vec()),
                Just(b"-1".to_vec()),
            ];
            proptest::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 4000, failure_persistence: None, ..ProptestConfig::default() })]

            #[test]
            fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
                let _ = parse_commands(&bytes);
            }

            #[test]
            fn resp_like_bytes_never_panic(bytes in resp_like()) {
                let _ = parse_commands(&bytes);
            }

            #[test]
            fn packed_commands_parse_back(commands in proptest::collection::vec(
                proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 1..6), 1..5)
            ) {
                let mut packed = Vec::new();
                for args in &commands {
                    pack_command(args, &[], &mut packed);
                }
                prop_assert_eq!(parse_commands(&packed).unwrap(), commands);
            }
        }
    }
}
