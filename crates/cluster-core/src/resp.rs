//! RESP request framing: packing argument lists for the wire (with tag-stripped keys put in
//! place), and reading back the packed commands that `redis::ConnectionLike` hands us.

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
/// argument lists. Anything else is a framing error, reported as text.
pub fn parse_commands(mut input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, String> {
    let mut commands = Vec::new();
    while !input.is_empty() {
        let (count, rest) = read_header(input, b'*')?;
        input = rest;
        let mut args = Vec::with_capacity(count);
        for _ in 0..count {
            let (len, rest) = read_header(input, b'$')?;
            if rest.len() < len + 2 || &rest[len..len + 2] != b"\r\n" {
                return Err("truncated bulk string in a packed command".to_owned());
            }
            args.push(rest[..len].to_vec());
            input = &rest[len + 2..];
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
    let number = std::str::from_utf8(&input[1..end])
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .ok_or("bad length in a packed command")?;
    Ok((number, &input[end + 2..]))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
