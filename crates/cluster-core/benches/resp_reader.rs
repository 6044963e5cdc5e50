//! The engine's RESP reader (`wire/reply.rs`) against redis-rs's `redis::Parser` on the same
//! bytes: the replies of MGET of 1000 keys (1000 bulk strings of 16 bytes, one in ten nil) and
//! HGETALL of a 500-field hash (1000 bulk strings). Why the engine has a reader of its own, as
//! a number: `cargo bench -p cluster-core --bench resp_reader` (make bench).

use std::hint::black_box;
use std::io::BufReader;

use cluster_core::wire::reply::read_value;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// The read buffer the engine's connections use.
const READ_BUFFER: usize = 64 * 1024;

fn bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(format!("${}\r\n", bytes.len()).as_bytes());
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

fn mget_reply() -> Vec<u8> {
    let mut out = b"*1000\r\n".to_vec();
    for i in 0..1000 {
        if i % 10 == 9 {
            out.extend_from_slice(b"$-1\r\n");
        } else {
            bulk(&mut out, format!("value:{i:010}").as_bytes());
        }
    }
    out
}

fn hgetall_reply() -> Vec<u8> {
    let mut out = b"*1000\r\n".to_vec();
    for i in 0..500 {
        bulk(&mut out, format!("field:{i:05}").as_bytes());
        bulk(
            &mut out,
            format!("a somewhat longer value number {i:05}").as_bytes(),
        );
    }
    out
}

fn readers(c: &mut Criterion) {
    for (name, bytes) in [
        ("MGET x1000", mget_reply()),
        ("HGETALL x500", hgetall_reply()),
    ] {
        // Both readers must read the same value, or the comparison means nothing.
        let ours = read_value(&mut BufReader::new(&bytes[..]), &mut Vec::new()).unwrap();
        let theirs = redis::Parser::new().parse_value(&bytes[..]).unwrap();
        assert_eq!(ours, theirs, "{name}: the readers disagree");

        let mut group = c.benchmark_group(format!("resp reader/{name}"));
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        let mut line = Vec::new();
        group.bench_function("engine read_value", |b| {
            b.iter(|| {
                let mut reader = BufReader::with_capacity(READ_BUFFER, black_box(&bytes[..]));
                read_value(&mut reader, &mut line).unwrap()
            })
        });
        group.bench_function("redis::Parser", |b| {
            b.iter(|| {
                let mut reader = BufReader::with_capacity(READ_BUFFER, black_box(&bytes[..]));
                redis::Parser::new().parse_value(&mut reader).unwrap()
            })
        });
        group.finish();
    }
}

criterion_group!(benches, readers);
criterion_main!(benches);
