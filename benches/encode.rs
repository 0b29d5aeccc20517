//! Encoder throughput: one `processRecords` line of 1,000 records of 1 KB each, the shape of a
//! full GetRecords batch. Throughput is counted in record payload bytes.
//! Run: `cargo bench --bench encode`. Results go in BENCHMARKS.md.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kcl_bridge::protocol::{encode_process_records, Record};

fn records(n: usize, size: usize) -> Vec<Record> {
    (0..n)
        .map(|i| Record {
            data: bytes::Bytes::from(
                (0..size)
                    .map(|j| (i * 31 + j * 7) as u8)
                    .collect::<Vec<u8>>(),
            ),
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
    let mut out = Vec::new();
    group.bench_function("encode 1000 x 1KB", |b| {
        b.iter(|| {
            out.clear();
            encode_process_records(&mut out, std::hint::black_box(&batch), Some(0));
            std::hint::black_box(out.len())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
