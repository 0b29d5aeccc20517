//! The in-memory lease table the worker's unit tests use (`lease::memory`) must answer as
//! DynamoDB does. One sequence of calls, conditional writes above all, runs on it and on the
//! real table in moto; every outcome and the rows left behind must be the same, and what we
//! expect.

use kcl_bridge::checkpoint::{ExtendedSequenceNumber, SequenceNumber};
use kcl_bridge::lease::dynamo::DynamoLeaseTable;
use kcl_bridge::lease::memory::MemoryLeaseTable;
use kcl_bridge::lease::{HashKeyRange, Lease, LeaseTable, Seen, Written};

use crate::emulator::Moto;

fn at(seq: &str) -> ExtendedSequenceNumber {
    ExtendedSequenceNumber::new(SequenceNumber::parse(seq).unwrap(), 0)
}

fn ok(counter: u64) -> String {
    format!("{:?}", Ok::<_, ()>(Written::Ok { counter }))
}

fn lost(owner: Option<&str>, counter: u64) -> String {
    format!(
        "{:?}",
        Ok::<_, ()>(Written::Lost {
            seen: Some(Seen {
                owner: owner.map(str::to_owned),
                counter
            })
        })
    )
}

/// Runs the sequence on `table`: each step's name and outcome, then the rows left.
async fn play(table: &impl LeaseTable) -> Vec<(&'static str, String)> {
    let mut log: Vec<(&'static str, String)> = Vec::new();
    macro_rules! step {
        ($name:expr, $call:expr) => {{
            let outcome = $call.await;
            let shown = match &outcome {
                Ok(v) => format!("{:?}", Ok::<_, ()>(v)),
                Err(e) => format!("Err({e})"),
            };
            log.push(($name, shown));
            outcome.ok()
        }};
    }
    step!("ensure_table", table.ensure_table(false, false));
    let fresh = Lease::new("shardId-000000000000", at("TRIM_HORIZON"));
    let child = Lease {
        parent_shard_ids: vec!["shardId-000000000000".into()],
        hash_range: Some(HashKeyRange { start: 5, end: 9 }),
        ..Lease::new("shardId-000000000001", at("TRIM_HORIZON"))
    };
    step!("create", table.create_if_absent(&fresh));
    step!("create again", table.create_if_absent(&fresh));
    step!("create child", table.create_if_absent(&child));
    step!("get child", table.get(&child.key));
    step!("take", table.take(&fresh, "me"));
    // The same take again: what an SDK retry after a lost reply sends. It finds the row as the
    // first attempt left it, so it counts as done.
    step!("take retried", table.take(&fresh, "me"));
    let mut held = Lease {
        owner: Some("me".into()),
        counter: 1,
        ..fresh.clone()
    };
    step!("renew", table.renew(&held, "me"));
    held.counter = 2;
    step!("checkpoint", table.checkpoint(&held, "me", &at("42")));
    step!(
        "checkpoint retried",
        table.checkpoint(&held, "me", &at("42"))
    );
    step!(
        "other checkpoint, old counter",
        table.checkpoint(&held, "me", &at("43"))
    );
    held.counter = 3;
    step!("taken by them", table.take(&held, "them"));
    step!("renew, lost", table.renew(&held, "me"));
    step!("checkpoint, lost", table.checkpoint(&held, "me", &at("44")));
    step!("release, lost", table.release(&held, "me"));
    let theirs = Lease {
        owner: Some("them".into()),
        counter: 4,
        ..held.clone()
    };
    // At the right counter, but not the owner.
    step!("release theirs", table.release(&theirs, "me"));
    step!("released by them", table.release(&theirs, "them"));
    step!("released by them, retried", table.release(&theirs, "them"));
    step!(
        "checkpoint by them, unowned",
        table.checkpoint(
            &Lease {
                counter: 5,
                ..theirs.clone()
            },
            "them",
            &at("50")
        )
    );
    let unowned = Lease {
        owner: None,
        counter: 5,
        ..fresh.clone()
    };
    step!("take unowned", table.take(&unowned, "me"));
    step!("get", table.get(&fresh.key));
    let mine = Lease {
        owner: Some("me".into()),
        counter: 6,
        ..fresh.clone()
    };
    step!("delete unfinished", table.delete_finished(&fresh.key));
    step!(
        "checkpoint shard end",
        table.checkpoint(&mine, "me", &ExtendedSequenceNumber::shard_end())
    );
    step!(
        "children",
        table.set_child_shards(&fresh.key, &["shardId-000000000001".into()])
    );
    step!("get finished", table.get(&fresh.key));
    step!("delete finished", table.delete_finished(&fresh.key));
    step!("delete again", table.delete_finished(&fresh.key));
    step!("get deleted", table.get(&fresh.key));
    step!(
        "renew deleted",
        table.renew(
            &Lease {
                counter: 7,
                ..mine.clone()
            },
            "me"
        )
    );
    step!(
        "children of deleted",
        table.set_child_shards(&fresh.key, &["x".into()])
    );
    if let Some(scan) = step!("scan", table.scan()) {
        log.push(("rows", format!("{:?}", scan.leases)));
    }
    log
}

#[tokio::test(flavor = "multi_thread")]
async fn the_in_memory_lease_table_answers_as_dynamodb_does() {
    let moto = Moto::start();
    let app = format!("drift-{}", uuid::Uuid::new_v4().simple());
    let real = play(&DynamoLeaseTable::new(moto.dynamodb(), &app)).await;
    let fake = play(&MemoryLeaseTable::new(&app)).await;
    for (i, (r, f)) in real.iter().zip(&fake).enumerate() {
        assert_eq!(r, f, "step {i} differs: DynamoDB (moto) then memory");
    }
    assert_eq!(real.len(), fake.len());
    // And both are what DynamoDB's rules say.
    let expect: &[(&str, String)] = &[
        ("ensure_table", "Ok(true)".into()),
        ("create", "Ok(true)".into()),
        ("create again", "Ok(false)".into()),
        ("take", ok(1)),
        ("take retried", ok(1)),
        ("renew", ok(2)),
        ("checkpoint", ok(3)),
        ("checkpoint retried", ok(3)),
        ("other checkpoint, old counter", lost(Some("me"), 3)),
        ("taken by them", ok(4)),
        ("renew, lost", lost(Some("them"), 4)),
        ("checkpoint, lost", lost(Some("them"), 4)),
        ("release, lost", lost(Some("them"), 4)),
        ("release theirs", lost(Some("them"), 4)),
        ("released by them", ok(5)),
        ("released by them, retried", ok(5)),
        ("checkpoint by them, unowned", lost(None, 5)),
        ("take unowned", ok(6)),
        ("delete unfinished", "Ok(false)".into()),
        ("checkpoint shard end", ok(7)),
        ("delete finished", "Ok(true)".into()),
        ("delete again", "Ok(false)".into()),
        ("get deleted", "Ok(None)".into()),
        ("renew deleted", "Ok(Lost { seen: None })".into()),
    ];
    for (name, outcome) in expect {
        let got = fake.iter().find(|(n, _)| n == name).map(|(_, o)| o);
        assert_eq!(got, Some(outcome), "{name}");
    }
}
