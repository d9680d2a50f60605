#!/usr/bin/env python3
"""Which tables and indexes a SQLite write transaction touched, from the WAL's frames.

Usage: wal_pages.py DB WAL_COPY [LAST_N]

Reads a copy of the write-ahead log (taken right after the writes to look at), splits its
valid frames (the salts of the WAL header) into transactions at each commit frame, and
names the b-tree of each page of the last LAST_N transactions (default 1) with SQLite's
`dbstat` table on DB. Prints frames per b-tree, most first, averaged over the
transactions. A page written twice in one transaction counts twice (it is two frames).
"""
import collections
import sqlite3
import struct
import sys


def transactions(wal_path):
    with open(wal_path, "rb") as f:
        data = f.read()
    if len(data) < 32:
        return []
    magic, _version, page_size, _seq, salt1, salt2 = struct.unpack(">6I", data[:24])
    if magic not in (0x377F0682, 0x377F0683):
        raise SystemExit("not a WAL file")
    frame = 24 + page_size
    done, current = [], []
    for off in range(32, len(data) - frame + 1, frame):
        pgno, commit, s1, s2 = struct.unpack(">4I", data[off : off + 16])
        if (s1, s2) != (salt1, salt2):
            break
        current.append(pgno)
        if commit:
            done.append(current)
            current = []
    return done


def main():
    db, wal = sys.argv[1], sys.argv[2]
    last = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    txs = transactions(wal)[-last:]
    if not txs:
        raise SystemExit("no committed transaction in the WAL copy")
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    owner = {pgno: name for name, pgno in con.execute("SELECT name, pageno FROM dbstat")}
    counts = collections.Counter()
    for tx in txs:
        for pgno in tx:
            counts[owner.get(pgno, "(free or new page)")] += 1
    total = sum(counts.values())
    print(f"{len(txs)} transaction(s), {total / len(txs):.1f} frames each: {[len(t) for t in txs]}")
    for name, n in counts.most_common():
        print(f"{n / len(txs):6.1f}  {name}")


if __name__ == "__main__":
    main()
