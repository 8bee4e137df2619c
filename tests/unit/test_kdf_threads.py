"""Argon2id from several threads of one process at once, as gunicorn's threaded workers do.

The `cryptography` Argon2id (OpenSSL 3.2+) runs lanes on OpenSSL's own thread pool; two
derivations at once in one process with more than one lane either fail with MemoryError
("Not enough memory to derive key") or never return. Every worker with `--threads 4`
(docs/deployment.md) meets that when two people start, come back or sign in at the same
moment, so `crypto.derive_key` takes one derivation at a time per process.
"""

from __future__ import annotations

import threading

from intake import crypto

MANY_LANES = crypto.KdfParams(iterations=1, memory_kib=1024, lanes=4)
PATIENCE = 300.0  # a bound so a regression fails instead of hanging; never a speed check


def test_argon2id_with_many_lanes_from_many_threads_at_once() -> None:
    expected = crypto.derive_key("4827193055612204", b"s" * 16, MANY_LANES)
    results: list[bytes | BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def derive() -> None:
        start.wait()
        try:
            found: bytes | BaseException = crypto.derive_key(
                "4827193055612204", b"s" * 16, MANY_LANES
            )
        except Exception as problem:  # collected and reported below
            found = problem
        with lock:
            results.append(found)

    threads = [threading.Thread(target=derive, daemon=True) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE)

    assert not any(thread.is_alive() for thread in threads), "a derivation never returned"
    assert results == [expected] * 8
