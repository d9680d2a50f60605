#!/usr/bin/env python3
"""Raw SQLite commit rate: N threads, each with its own connection, each committing
single-row INSERTs (BEGIN IMMEDIATE; INSERT; COMMIT) into a scratch WAL database for a
fixed time. The reference for ticket creation in bench/create_tickets.sh.

Usage: raw_sqlite_inserts.py DB_PATH THREADS SECONDS FULL|NORMAL [lock|busy]

  lock  (default) writers wait for each other on a process lock, so a waiting writer is
        woken as soon as the write lock is free: the database's own commit rate.
  busy  writers wait only in SQLite's busy handler (busy_timeout), which sleeps 1-100 ms
        between attempts; shows what plain concurrent connections get.

Prints one line: commits/s p50_ms p99_ms commits errors
"""
import os
import sqlite3
import sys
import threading
import time


def main() -> None:
    path, threads, seconds, sync = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    mode = sys.argv[5] if len(sys.argv) > 5 else "lock"
    assert sync in ("FULL", "NORMAL") and mode in ("lock", "busy")
    for suffix in ("", "-wal", "-shm"):
        try:
            os.remove(path + suffix)
        except FileNotFoundError:
            pass
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, client INTEGER NOT NULL, at INTEGER NOT NULL, "
        "title TEXT NOT NULL)"
    )
    setup.close()

    lock = threading.Lock()
    start = threading.Barrier(threads + 1)
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads
    deadline = [0.0]

    def writer(i: int) -> None:
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={sync}")
        own = latencies[i]
        start.wait()
        n = 0
        while True:
            t0 = time.perf_counter()
            if t0 >= deadline[0]:
                break
            n += 1
            try:
                if mode == "lock":
                    with lock:
                        conn.execute("BEGIN IMMEDIATE")
                        conn.execute(
                            "INSERT INTO t (client, at, title) VALUES (?, ?, ?)",
                            (i, n, "压测建单"),
                        )
                        conn.execute("COMMIT")
                else:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute(
                        "INSERT INTO t (client, at, title) VALUES (?, ?, ?)", (i, n, "压测建单")
                    )
                    conn.execute("COMMIT")
                own.append(time.perf_counter() - t0)
            except sqlite3.Error:
                errors[i] += 1
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
        conn.close()

    ts = [threading.Thread(target=writer, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.wait()
    for t in ts:
        t.join()
    elapsed = time.perf_counter() - began
    lat = sorted(x for own in latencies for x in own)
    commits = len(lat)

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

    print(f"{commits / elapsed:.0f} {pct(0.5):.2f} {pct(0.99):.2f} {commits} {sum(errors)}")
    for suffix in ("", "-wal", "-shm"):
        try:
            os.remove(path + suffix)
        except FileNotFoundError:
            pass


if __name__ == "__main__":
    main()
