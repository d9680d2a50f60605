#!/usr/bin/env python3
"""Memory and deep-page load for bench/memory.sh (standard library only).

Against a server already holding the seeded tickets, signed in with TOKEN:
  1. PAGES distinct ticket list pages (`limit=500`, distinct offsets) from 4 connections;
  2. an export of every ticket as CSV, then as XLSX (read to the end and counted);
  3. IDLE_S seconds of nothing (the caches' entries expire and are swept);
  4. deep pages: `limit=50&offset=<random 0..9999>` at a fixed RATE over CONNS connections
     for DEEP_S seconds.
The server's VmRSS is sampled from /proc/PID/status every 50 ms throughout.

Usage: memory.py PID PORT TOKEN LABEL EXPECTED_TICKETS
Prints one Markdown table row on stdout and the figures as JSON on stderr.
"""

import csv
import http.client
import io
import json
import os
import random
import sys
import tempfile
import threading
import time
import zipfile

PID, PORT, TOKEN, LABEL, EXPECTED = (
    int(sys.argv[1]),
    int(sys.argv[2]),
    sys.argv[3],
    sys.argv[4],
    int(sys.argv[5]),
)
PAGES = int(os.environ.get("PAGES", "500"))
IDLE_S = float(os.environ.get("IDLE_S", "40"))
RATE = float(os.environ.get("RATE", "100"))
CONNS = int(os.environ.get("CONNS", "10"))
DEEP_S = float(os.environ.get("DEEP_S", "20"))
MAX_OFFSET = 9_999
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def rss_kb():
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Sampler:
    """The highest RSS seen since the last `take`."""

    def __init__(self):
        self.peak = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while not self.stop.is_set():
            v = rss_kb()
            with self.lock:
                self.peak = max(self.peak, v)
            time.sleep(0.05)

    def take(self):
        with self.lock:
            p, self.peak = self.peak, rss_kb()
        return p


def mb(kb):
    return round(kb / 1024, 1)


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    i = min(len(xs) - 1, max(0, int(round(p / 100 * len(xs) + 0.5)) - 1))
    return round(xs[i] * 1000, 1)


def get(conn, path):
    conn.request("GET", path, headers=AUTH)
    r = conn.getresponse()
    body = r.read()
    return r.status, body


def pages():
    """PAGES distinct pages of 500 rows; returns the status counts."""
    offsets = [i * 173 % 99_500 for i in range(PAGES)]
    assert len(set(offsets)) == PAGES
    codes = {}
    lock = threading.Lock()

    def worker(mine):
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
        for off in mine:
            s, body = get(conn, f"/api/v1/tickets?limit=500&offset={off}")
            if s == 200:
                n = len(json.loads(body)["items"])
                assert n == 500, (off, n)
            with lock:
                codes[s] = codes.get(s, 0) + 1

    ts = [threading.Thread(target=worker, args=(offsets[k::4],)) for k in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return codes


def export(fmt):
    """Downloads the export and counts its data rows; (status, seconds, bytes, rows)."""
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=600)
    t0 = time.monotonic()
    conn.request("GET", f"/api/v1/tickets/export?format={fmt}", headers=AUTH)
    r = conn.getresponse()
    with tempfile.TemporaryFile() as f:
        size = 0
        while True:
            chunk = r.read(1 << 16)
            if not chunk:
                break
            size += len(chunk)
            f.write(chunk)
        secs = time.monotonic() - t0
        f.seek(0)
        if r.status != 200:
            return r.status, secs, size, 0
        if fmt == "csv":
            text = io.TextIOWrapper(f, encoding="utf-8-sig", newline="")
            rows = sum(1 for _ in csv.reader(text)) - 1
        else:
            with zipfile.ZipFile(f) as z, z.open("xl/worksheets/sheet1.xml") as s:
                # `<row ` is 5 bytes: one seen across a chunk boundary ends in the new
                # chunk, so 4 bytes of overlap count each once.
                rows, tail = 0, b""
                while True:
                    chunk = s.read(1 << 20)
                    if not chunk:
                        break
                    rows += (tail + chunk).count(b"<row ")
                    tail = chunk[-4:]
                rows -= 2  # the title and header rows
    return r.status, round(secs, 1), size, rows


def deep():
    """Random deep pages at a fixed rate; (latencies, status counts)."""
    lat, codes = [], {}
    lock = threading.Lock()
    per_conn = RATE / CONNS
    end = time.monotonic() + DEEP_S

    def worker(seed):
        rnd = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        nxt = time.monotonic() + rnd.random() / per_conn
        while True:
            now = time.monotonic()
            if now >= end:
                return
            if nxt > now:
                time.sleep(nxt - now)
            nxt += 1 / per_conn
            off = rnd.randint(0, MAX_OFFSET)
            t0 = time.monotonic()
            s, body = get(conn, f"/api/v1/tickets?limit=50&offset={off}")
            dt = time.monotonic() - t0
            if s == 200:
                assert len(json.loads(body)["items"]) == 50
            with lock:
                lat.append(dt)
                codes[s] = codes.get(s, 0) + 1

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(CONNS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return lat, codes


def main():
    sampler = Sampler()
    time.sleep(1)
    out = {"backend": LABEL, "rss_start_mb": mb(sampler.take())}
    t0 = time.monotonic()
    out["pages_codes"] = pages()
    out["pages_s"] = round(time.monotonic() - t0, 1)
    out["rss_pages_peak_mb"] = mb(sampler.take())
    out["rss_after_pages_mb"] = mb(rss_kb())
    for fmt in ("csv", "xlsx"):
        status, secs, size, rows = export(fmt)
        out[f"{fmt}_status"] = status
        out[f"{fmt}_s"] = secs
        out[f"{fmt}_mb"] = round(size / 1e6, 1)
        out[f"{fmt}_rows"] = rows
        out[f"rss_{fmt}_peak_mb"] = mb(sampler.take())
    out["rss_after_exports_mb"] = mb(rss_kb())
    time.sleep(IDLE_S)
    out["rss_idle_mb"] = mb(rss_kb())
    sampler.take()
    lat, codes = deep()
    out["deep_codes"] = codes
    out["deep_n"] = len(lat)
    out["deep_p50_ms"] = pct(lat, 50)
    out["deep_p99_ms"] = pct(lat, 99)
    out["deep_max_ms"] = pct(lat, 100)
    out["rss_deep_peak_mb"] = mb(sampler.take())
    sampler.stop.set()
    ok = out["csv_rows"] == EXPECTED and out["xlsx_rows"] == EXPECTED
    out["exports_complete"] = ok
    print(json.dumps(out, ensure_ascii=False), file=sys.stderr)

    def codes_text(c):
        return " ".join(f"[{k}] {v}" for k, v in sorted(c.items()))

    print(
        f"| {LABEL} | {out['rss_start_mb']} | {out['rss_pages_peak_mb']} | {out['rss_after_pages_mb']} "
        f"| {out['csv_rows']} rows, {out['csv_mb']} MB, {out['csv_s']} s | {out['rss_csv_peak_mb']} "
        f"| {out['xlsx_rows']} rows, {out['xlsx_mb']} MB, {out['xlsx_s']} s | {out['rss_xlsx_peak_mb']} "
        f"| {out['rss_after_exports_mb']} | {out['rss_idle_mb']} "
        f"| {out['deep_n']} ({codes_text(codes)}) | {out['deep_p50_ms']} | {out['deep_p99_ms']} | {out['deep_max_ms']} |"
    )
    if not ok:
        sys.exit(f"{LABEL}: export incomplete: csv {out['csv_rows']}, xlsx {out['xlsx_rows']}, expected {EXPECTED}")


if __name__ == "__main__":
    main()
