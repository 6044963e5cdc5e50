#!/usr/bin/env python3
"""Generate tests/vectors/placement.json: the golden placement vectors.

This script is the independent oracle of the placement contract. It uses only Python's
standard library (``binascii.crc32``), never project code, so that the Rust, Python and PHP
implementations are all checked against something none of them wrote.

Contract
  * Masters are node_1 .. node_N. A key goes to ``node_{(crc32(route_bytes) % N) + 1}`` with the
    IEEE CRC-32 taken unsigned (``binascii.crc32(b) & 0xffffffff``). ``route_bytes`` are the bytes
    sent to Redis: text as UTF-8, integers as their decimal text.
  * Hash tags: a key ``real{tag}`` - it ends with ``}``, the tag opens at the LAST ``{``, and both
    ``real`` and ``tag`` are non-empty - is routed by ``tag`` and stored as ``real``. Any other
    key is routed and stored verbatim.

Every expectation in the file is derived here from that rule; none is typed by hand. CHANGING AN
EXPECTATION IS A BREAKING CHANGE: it moves data that users have already stored. Adding vectors
is fine; the output must stay byte-for-byte reproducible (fixed random seed).

Usage
  python3 tools/gen_placement_vectors.py          rewrite tests/vectors/placement.json
  python3 tools/gen_placement_vectors.py --check  exit 1 if the file on disk differs (CI)

Each vector: kind, key_b64, key (only if valid UTF-8), int (only for kind "integer"), route_b64,
stored_b64, stored (only if valid UTF-8), tagged, nodes (nodes[i] = node number with i+1 masters).
"""

import argparse
import base64
import binascii
import json
import random
import sys
from pathlib import Path

MAX_MASTERS = 16
SEED = 20131125  # fixed: the file must be reproducible byte for byte
OUTPUT = Path(__file__).resolve().parent.parent / "tests/vectors/placement.json"
GENERATOR = "tools/gen_placement_vectors.py"
CONTRACT = (
    "node = crc32(route_bytes) % N + 1 (IEEE CRC-32, unsigned; text as UTF-8, integers as "
    "decimal text); tag rule: a key real{tag} that ends with '}', whose tag opens at the last "
    "'{', with real and tag both non-empty, is routed by tag and stored as real; any other key "
    "is routed and stored verbatim"
)
KINDS = ("seed", "edge", "ascii", "utf8", "binary", "integer", "tag")


# --------------------------------------------------------------------------------------------
# The contract
# --------------------------------------------------------------------------------------------


def split_tag(key: bytes) -> tuple[bytes, bytes, bool]:
    """Return (route, stored, tagged) for a key, by the hash-tag rule."""
    if key.endswith(b"}"):
        open_at = key.rfind(b"{")  # the last '{' (the final byte is '}', never '{')
        real, tag = key[:open_at], key[open_at + 1 : -1]
        if open_at >= 0 and real and tag:
            return tag, real, True
    return key, key, False


def crc(data: bytes) -> int:
    """IEEE CRC-32, unsigned."""
    return binascii.crc32(data) & 0xFFFFFFFF


def node_numbers(route: bytes) -> list[int]:
    """The 1-based node number for N = 1 .. MAX_MASTERS."""
    checksum = crc(route)
    return [checksum % n + 1 for n in range(1, MAX_MASTERS + 1)]


# --------------------------------------------------------------------------------------------
# One vector
# --------------------------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def as_text(data: bytes):
    """The bytes as text if they are valid UTF-8, else None."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def vector(kind: str, key: bytes, integer=None) -> dict:
    route, stored, tagged = split_tag(key)
    row = {"kind": kind, "key_b64": b64(key)}
    if as_text(key) is not None:
        row["key"] = as_text(key)
    if integer is not None:
        row["int"] = integer
    row["route_b64"] = b64(route)
    row["stored_b64"] = b64(stored)
    if as_text(stored) is not None:
        row["stored"] = as_text(stored)
    row["tagged"] = tagged
    row["nodes"] = node_numbers(route)
    return row


# --------------------------------------------------------------------------------------------
# The keys, by kind
# --------------------------------------------------------------------------------------------


def random_text(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def random_bytes(rng: random.Random, length: int) -> bytes:
    return bytes(rng.randrange(256) for _ in range(length))


def seed_keys() -> list[bytes]:
    """The examples of the original README: foo -> node_2, bar -> node_1 with 2 masters."""
    return [b"foo", b"bar", b"bar{foo}", b"foobar"]


def edge_keys() -> list[bytes]:
    """Empty, whitespace, long, number-like-but-not-integer and protocol-looking keys."""
    return [
        b"",
        b" ",
        b"  ",
        b"\t",
        b"\r\n",
        b"\n",
        b" key",
        b"key ",
        b"tab\tkey",
        b"line\nbreak",
        b"-0",
        b"+1",
        b"007",
        b"00",
        b"1.0",
        b"1.5",
        b"1e3",
        b"0x10",
        b" 1",
        b"1 ",
        b"9223372036854775808",
        b"-9223372036854775809",
        b"18446744073709551616",
        b"nil",
        b"null",
        b"None",
        b"true",
        b"false",
        b"NaN",
        b"inf",
        b"*",
        b"?",
        b"user:*",
        b"[a-z]",
        b"\\",
        b'"',
        b"'",
        b"%s",
        b"$",
        b"#",
        b"*3\r\n$3\r\nSET\r\n",
        b"SET",
        b"GET",
        b"FLUSHALL",
        b"x" * 1024,
        b"k" * 1024,
        b"\x00" * 1024,
        b"long:" + b"0123456789abcdef" * 256,
    ]


def ascii_keys(rng: random.Random) -> list[bytes]:
    """Printable ASCII (no braces, so none is tagged): app keys, 16- and 64-byte keys, random."""
    keys = [
        b"key",
        b"keys",
        b"Key",
        b"KEY",
        b"a b c",
        b"hello world",
        b"user:1000",
        b"user:1000:profile",
        b"user:1001:profile",
        b"user:1000:followers",
        b"user:1000:following",
        b"session:abcdef0123456789",
        b"session:6f1c2b9e-4d1a-4a8e-9f3b-2c7d5e8a1b90",
        b"cache/page/index.html",
        b"https://example.com/path?q=1&r=2",
        b"queue:jobs:pending",
        b"lock:order:42",
        b"rate:127.0.0.1:2013-11-25T10:00",
        b"counter",
        b"counter:hits",
        b'quote"key',
        b"back\\slash",
        b"percent%20key",
        b"~!@#$%^&*()_+",
        b"a.b.c",
        b"a-b_c",
        b"semi;colon",
        b"comma,separated",
        b"pipe|key",
        b"eq=val",
        b"<tag>",
        b"(paren)",
        b"x" * 16,
        b"y" * 64,
        b"z" * 255,
        b"0123456789abcdef",
        b"0123456789abcdef" * 4,
    ]
    words = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_-./"
    printable = words + " !\"#$%&'()*+,;<=>?@[\\]^`|~"
    for length in (16, 64):
        for _ in range(20):
            keys.append(random_text(rng, words, length).encode("ascii"))
        for _ in range(5):
            keys.append(random_text(rng, printable, length).encode("ascii"))
    while len(keys) < 160:
        keys.append(random_text(rng, printable, rng.randint(1, 40)).encode("ascii"))
    return keys


def utf8_keys(rng: random.Random) -> list[bytes]:
    """Multi-byte UTF-8: accents (NFC and NFD), CJK, other scripts, emoji, invisibles."""
    words = [
        "café",
        "cafe\u0301",
        "naïve",
        "nai\u0308ve",
        "\u00c5",
        "\u212b",
        "A\u030a",
        "Zürich",
        "straße",
        "STRASSE",
        "résumé",
        "crème brûlée",
        "ñandú",
        "Ærøskøbing",
        "日本語",
        "键",
        "值",
        "键名",
        "中文键名",
        "한국어",
        "키",
        "ｆｕｌｌｗｉｄｔｈ",
        "ｶﾀｶﾅ",
        "Ελληνικά",
        "русский",
        "українська",
        "עברית",
        "العربية",
        "हिन्दी",
        "ไทย",
        "ქართული",
        "🔑",
        "👍",
        "👍🏽",
        "👨‍👩‍👧",
        "🇫🇷",
        "🏳️‍🌈",
        "emoji🔑key",
        "user:🔑:1000",
        "mixed:日本:café:🔑",
        "abc日本語xyz",
        "Ω≈ç√∫",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
        "\U0010ffff",
        "\uffff",
        "\ufffd",
        "\ufeffkey",
        "\u00a0nbsp",
        "\u200bzero-width",
        "\u200d",
        "\u2028",
        "\u202eabc",
        "\u0080",
        "\u07ff",
        "\u0800",
        "\U00010000",
        "é",
        "ü",
        "€",
        "£100",
    ]
    keys = [w.encode("utf-8") for w in words]
    pool = "éèàçüößøåæœñ€日本語中文键值키한국어Ωπλжд🔑👍🏽🎉𝔘 :_-a1"
    while len(keys) < 110:
        keys.append(random_text(rng, pool, rng.randint(1, 12)).encode("utf-8"))
    return keys


def binary_keys(rng: random.Random) -> list[bytes]:
    """Every single byte 0x00..0xff, NULs, invalid UTF-8, random bytes."""
    keys = [bytes([b]) for b in range(256)]
    keys += [
        b"\x00\x00",
        b"a\x00b",
        b"\x00key",
        b"key\x00",
        b"\xff\xfe\xfd",
        b"\xff" * 16,
        b"\x80abc",
        b"key\xff",
        b"\xc3\x28",
        b"\xc3",
        b"\xe6\x97",
        b"\xed\xa0\x80",
        b"\xf4\x90\x80\x80",
        b"\xc0\x80",
        b"\xfe\xff",
        b"\x1b[31mred\x1b[0m",
        b"\x7f\x7f",
        "café".encode("latin-1"),
        "日本語".encode("utf-16-le"),
        "日本語".encode("shift_jis"),
    ]
    for length in (16, 64):
        for _ in range(5):
            keys.append(random_bytes(rng, length))
    for _ in range(40):
        keys.append(random_bytes(rng, rng.randint(1, 32)))
    return keys


def integer_keys(rng: random.Random) -> list[int]:
    """Integers whose decimal text is the key (what the clients send for an int key)."""
    ints = [
        0,
        1,
        -1,
        2,
        7,
        9,
        10,
        42,
        -42,
        99,
        100,
        255,
        256,
        1000,
        1024,
        65535,
        65536,
        2**31 - 1,
        2**31,
        -(2**31),
        -(2**31) - 1,
        2**32 - 1,
        2**32,
        2**53,
        2**53 + 1,
        -(2**53) - 1,
        10**15,
        10**18,
        2**63 - 1,
        -(2**63),
    ]
    for low, high, count in ((0, 10**4, 10), (-(10**9), 10**9, 10), (-(2**63), 2**63 - 1, 15)):
        for _ in range(count):
            ints.append(rng.randint(low, high))
    return ints


def tag_keys() -> list[bytes]:
    """Hash-tag cases: every edge of the rule, then real{tag} for several reals and tags."""
    edges = [
        b"a{b}",
        b"{b}",
        b"a{}",
        b"a{b}c",
        b"a{b}{c}",
        b"a{{b}}",
        b"}",
        b"{",
        b"{}",
        b"}{",
        b"{{",
        b"}}",
        b"{{}}",
        b"{{}",
        b"{{a}",
        b"{a}{b}",
        b"a{b",
        b"ab}",
        b"{a}b",
        b"a}b{c}",
        b"a}{b}",
        b"a{b}}",
        b"a{{b}",
        b"a{b{c}",
        b"a{b}{",
        b"a{b}{}",
        b"a{}{b}",
        b"x{y}z{w}",
        b"real{tag{inner}}",
        b"a{ }",
        b"{ }x{ }",
        b" {x}",
        b"a{b} ",
        b"{tag}",
        b"{tag}key",
        b"user{1000}:x",
        b"{user1000}.following",
        b"profile{user1000}",
        b"followers{user1000}",
        b"following{user1000}",
        b"user1000",
        b"1000",
        b"baz{foo}",
        b"a{foo}",
        b"b{bar}",
        b"a{c}",
        b"c",
        b"b",
        b"{}{}",
        b"a{}}",
        "a\uff5bb\uff5d".encode("utf-8"),
        "é{é}".encode(),
        "键{值}".encode(),
        b"a{\x00}",
        b"\x00{a}",
        b"\xff{\xfe}",
        b"a{b\xff}",
        b"a{\xff}",
        b"\x00{\x00}",
        b"{\x00}",
        b"a{\x00",
    ]
    tags = [
        b"foo",
        b"bar",
        b"user:1000",
        b"t",
        b"1",
        b"}",
        b"a b",
        "café".encode(),
        "键".encode(),
        "🔑".encode(),
        b"\x00",
        b"\xff\x80",
    ]
    reals = [b"k", b"session", "名前".encode(), b"\x00bin", b"\xff", b"x{y}"]
    keys = list(edges)
    for tag in tags:
        keys += [real + b"{" + tag + b"}" for real in reals]
        keys.append(tag)  # the tag as a plain key: co-locates with the tagged keys above
    return keys


# --------------------------------------------------------------------------------------------
# The file
# --------------------------------------------------------------------------------------------


def build() -> dict:
    rng = random.Random(SEED)
    generated = {  # each generator runs in this order, so the random stream is fixed
        "seed": [(k, None) for k in seed_keys()],
        "edge": [(k, None) for k in edge_keys()],
        "ascii": [(k, None) for k in ascii_keys(rng)],
        "utf8": [(k, None) for k in utf8_keys(rng)],
        "binary": [(k, None) for k in binary_keys(rng)],
        "integer": [(str(i).encode("ascii"), i) for i in integer_keys(rng)],
        "tag": [(k, None) for k in tag_keys()],
    }
    # Each key once, under the first kind listed here that has it ("1" is an integer, not a
    # single byte; a tag repeated as a plain key stays under its earlier kind).
    order = ("seed", "integer", "edge", "tag", "ascii", "utf8", "binary")
    rows, seen = [], set()
    for kind in order:
        for key, integer in generated[kind]:
            if key not in seen:
                seen.add(key)
                rows.append(vector(kind, key, integer))
    self_check(rows)
    return {
        "contract": CONTRACT,
        "generator": GENERATOR,
        "max_masters": MAX_MASTERS,
        "vectors": rows,
    }


def self_check(rows: list[dict]) -> None:
    """Sanity checks of the oracle itself, so a broken generator cannot write a file."""
    # The rule, on the worked examples of the contract.
    assert split_tag(b"a{b}") == (b"b", b"a", True)
    assert split_tag(b"a{b}{c}") == (b"c", b"a{b}", True)
    assert split_tag(b"a{{b}}") == (b"b}", b"a{", True)
    for verbatim in (b"", b"{b}", b"a{}", b"a{b}c", b"}", b"{", b"{}", b"}{"):
        assert split_tag(verbatim) == (verbatim, verbatim, False), verbatim
    # crc32 is the IEEE one (check value of the CRC catalogue).
    assert crc(b"123456789") == 0xCBF43926

    by_key = {base64.b64decode(r["key_b64"]): r for r in rows}
    assert len(by_key) == len(rows), "duplicate keys"
    # The seed: foo on node_2, bar on node_1 with 2 masters; bar{foo} with foo.
    assert by_key[b"foo"]["nodes"][1] == 2, "seed: foo on node_2 with 2 masters"
    assert by_key[b"bar"]["nodes"][1] == 1, "seed: bar on node_1 with 2 masters"
    assert by_key[b"bar{foo}"]["nodes"] == by_key[b"foo"]["nodes"]
    assert by_key[b"bar{foo}"]["stored_b64"] == b64(b"bar")

    counts = {kind: sum(1 for r in rows if r["kind"] == kind) for kind in KINDS}
    minimum = {
        "seed": 4,
        "edge": 1,
        "ascii": 140,
        "utf8": 100,
        "binary": 100,
        "integer": 60,
        "tag": 80,
    }
    for kind, at_least in minimum.items():
        assert counts[kind] >= at_least, f"{counts[kind]} {kind} vectors, want {at_least}"
    assert len(rows) >= 600, len(rows)
    assert all(bytes([b]) in by_key for b in range(256)), "every single byte as a key"

    for key, row in by_key.items():
        route = base64.b64decode(row["route_b64"])
        stored = base64.b64decode(row["stored_b64"])
        assert (route, stored, row["tagged"]) == split_tag(key)
        assert ("key" in row) == (as_text(key) is not None)
        assert ("stored" in row) == (as_text(stored) is not None)
        assert ("int" in row) == (row["kind"] == "integer")
        if "int" in row:
            assert str(row["int"]).encode("ascii") == key and -(2**63) <= row["int"] < 2**63
        assert not row["tagged"] or row["kind"] in ("seed", "tag"), f"{key!r} tagged by accident"
        if row["tagged"]:  # a tagged key co-locates with its tag as a plain key, when listed
            if route in by_key:
                assert by_key[route]["nodes"] == row["nodes"]
        assert len(row["nodes"]) == MAX_MASTERS
        assert all(1 <= node <= n for n, node in enumerate(row["nodes"], start=1))

    high = sum(1 for r in rows if crc(base64.b64decode(r["route_b64"])) >= 2**31)
    assert high >= 100, f"only {high} vectors with crc32 >= 2**31"
    tagged = sum(1 for r in rows if r["tagged"])
    assert tagged >= 40 and len(rows) - tagged >= 500


def render(data: dict) -> str:
    """Pretty JSON, indent 2, one field per line, each "nodes" list on a single line."""
    dump = lambda value: json.dumps(value, ensure_ascii=False)  # noqa: E731
    lines = ["{"]
    for field in ("contract", "generator", "max_masters"):
        lines.append(f"  {dump(field)}: {dump(data[field])},")
    lines.append('  "vectors": [')
    for i, row in enumerate(data["vectors"]):
        fields = [f"      {dump(name)}: {dump(value)}" for name, value in row.items()]
        last = i == len(data["vectors"]) - 1
        lines += ["    {", ",\n".join(fields), "    }" if last else "    },"]
    lines += ["  ]", "}"]
    text = "\n".join(lines) + "\n"
    assert json.loads(text) == data, "render() must be lossless"
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="do not write; exit 1 if the file on disk differs"
    )
    args = parser.parse_args()
    data = build()
    text = render(data)
    if args.check:
        on_disk = OUTPUT.read_bytes().decode("utf-8") if OUTPUT.exists() else None
        if on_disk != text:
            print(
                f"{OUTPUT} is out of date or was edited by hand: run {GENERATOR}", file=sys.stderr
            )
            return 1
        print(f"{OUTPUT}: up to date ({len(data['vectors'])} vectors)")
        return 0
    OUTPUT.write_bytes(text.encode("utf-8"))
    counts = {kind: sum(1 for r in data["vectors"] if r["kind"] == kind) for kind in KINDS}
    print(f"wrote {OUTPUT}: {len(data['vectors'])} vectors {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
