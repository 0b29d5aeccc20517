//! Encoder throughput: one `processRecords` line of 1,000 records of 1 KB each, the shape of a
//! full GetRecords batch. Throughput is counted in record payload bytes. Two forms of payload:
//! bytes (encoded to base64 on the way out) and base64 text as GetRecords and a records file's
//! `dataBase64` deliver it (copied as it is).
//! Run: `cargo bench --bench encode`. Results go in BENCHMARKS.md.

#![allow(clippy::expect_used)] // A benchmark may panic on broken set-up.

use base64::Engine as _;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kcl_bridge::protocol::{encode_process_records, Payload, Record};

fn records(n: usize, size: usize) -> Vec<Record> {
    (0..n)
        .map(|i| Record {
            data: bytes::Bytes::from(
                (0..size)
                    .map(|j| (i * 31 + j * 7) as u8)
                    .collect::<Vec<u8>>(),
            )
            .into(),
            partition_key: format!("partition-key-{}", i % 100),
            sequence_number: format!("4959033827149025660855969253836157109592157598913658{i:04}"),
            sub_sequence_number: 0,
            approximate_arrival_timestamp: 1_752_000_000_000 + i as i64,
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let batch = records(1_000, 1_024);
    let payload: usize = batch.iter().map(|r| r.data.len()).sum();
    let mut group = c.benchmark_group("processRecords");
    group.throughput(Throughput::Bytes(payload as u64));
    let as_text: Vec<Record> = batch
        .iter()
        .map(|r| {
            let text = base64::engine::general_purpose::STANDARD.encode(r.data.to_bytes());
            Record {
                data: Payload::base64(text.into()).expect("canonical"),
                ..r.clone()
            }
        })
        .collect();
    let mut out = Vec::new();
    for (name, records) in [
        ("encode 1000 x 1KB", &batch),
        ("pass base64 through 1000 x 1KB", &as_text),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                encode_process_records(&mut out, std::hint::black_box(records), Some(0));
                std::hint::black_box(out.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
