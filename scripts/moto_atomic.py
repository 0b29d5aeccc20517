#!/usr/bin/env python3
"""moto_server with DynamoDB's item writes made atomic, as real DynamoDB's are.

moto checks a write's condition and then applies the write in plain Python, with nothing held
between the two, and moto_server answers requests on many threads. Two workers taking the same
lease at once (the same `leaseCounter = :c` condition) can therefore both succeed
(benches/moto_race.py counts how often; it is likelier when the CPUs are busy). DynamoDB never
lets both win, and kcl-bridge's lease protocol (like the KCL's) relies on that. So every DynamoDB
backend call runs under one lock here; nothing else changes.

Usage (run with the repository's venv): the same arguments as moto_server, e.g.
    .venv/bin/python scripts/moto_atomic.py -H 127.0.0.1 -p 0
`make_dynamodb_atomic()` does the same for moto served another way (scripts/java/moto_h2.py).
"""
import functools
import sys
import threading

# Every DynamoDB backend entry point that reads or writes items: a reader never sees an item
# half-updated either.
CALLS = ("put_item", "update_item", "delete_item", "get_item", "query", "scan",
         "transact_write_items", "transact_get_items", "batch_write_item", "batch_get_item")


def make_dynamodb_atomic():
    from moto.dynamodb.models import DynamoDBBackend
    lock = threading.RLock()
    for name in CALLS:
        call = getattr(DynamoDBBackend, name, None)
        if call is None:
            continue

        @functools.wraps(call)
        def locked(self, *args, _call=call, **kwargs):
            with lock:
                return _call(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, locked)


if __name__ == "__main__":
    make_dynamodb_atomic()
    from moto.server import main
    sys.exit(main())
