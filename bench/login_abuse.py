#!/usr/bin/env python3
"""Login-abuse load for bench/login_abuse.sh (standard library only).

Sends LOGINS bad logins for unknown usernames from CLIENTS concurrent connections while one
logged-in user lists assets (LIST_PATH) every LIST_INTERVAL s on its own connection (in a separate process, so
the login threads do not delay its timing), and samples the server's VmRSS and Threads from
/proc/PID/status every 50 ms: 2 s before the burst, during it, and 5 s after it.

Usage: login_abuse.py PID PORT TOKEN MODE LABEL   (MODE: one-ip | many-ips)
Prints one Markdown table row on stdout and the figures as JSON on stderr.
"""

import http.client
import json
import multiprocessing as mp
import os
import sys
import threading
import time

PID, PORT, TOKEN, MODE, LABEL = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
LOGINS = 500
CLIENTS = 50
LIST_PATH = os.environ.get("LIST_PATH", "/api/v1/assets?limit=50")
# Pause between list requests (s): 0.05 is 20 requests/s at most; 0 is back to back.
LIST_INTERVAL = float(os.environ.get("LIST_INTERVAL", "0.05"))
SAMPLE_S = 0.05
BEFORE_S = 2.0
AFTER_S = 5.0


def status():
    out = {}
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "Threads"):
                out[k] = int(v.split()[0])
    return out["VmRSS"], out["Threads"]


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    i = min(len(xs) - 1, max(0, int(round(p / 100 * len(xs) + 0.5)) - 1))
    return round(xs[i] * 1000, 1)


def lister(stop, out):
    """One signed-in user listing tickets back to back; (start, seconds, status) per call."""
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    rows = []
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            conn.request("GET", LIST_PATH, headers={"Authorization": f"Bearer {TOKEN}"})
            r = conn.getresponse()
            r.read()
            code = r.status
        except OSError:
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
            code = 0
        rows.append((t0, time.monotonic() - t0, code))
        if LIST_INTERVAL:
            time.sleep(LIST_INTERVAL)
    out.put(rows)


def main():
    samples = []  # (t, rss_kb, threads)
    stop_sampling = threading.Event()

    def sampler():
        while not stop_sampling.is_set():
            rss, thr = status()
            samples.append((time.monotonic(), rss, thr))
            time.sleep(SAMPLE_S)

    threading.Thread(target=sampler, daemon=True).start()
    stop_list = mp.Event()
    list_out = mp.Queue()
    lp = mp.Process(target=lister, args=(stop_list, list_out))
    lp.start()
    time.sleep(BEFORE_S)

    results = []  # (seconds, status, retry_after)
    lock = threading.Lock()
    next_i = [0]

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
        while True:
            with lock:
                i = next_i[0]
                next_i[0] += 1
            if i >= LOGINS:
                break
            body = json.dumps({"username": f"nobody-{i}", "password": "Wrong#Passw0rd9"})
            headers = {"content-type": "application/json"}
            if MODE == "many-ips":
                headers["x-forwarded-for"] = f"10.{i // 65536}.{(i // 256) % 256}.{i % 256}"
            t0 = time.monotonic()
            try:
                conn.request("POST", "/api/v1/auth/login", body=body, headers=headers)
                r = conn.getresponse()
                r.read()
                code, ra = r.status, r.getheader("retry-after")
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
                code, ra = 0, None
            with lock:
                results.append((time.monotonic() - t0, code, ra))
        conn.close()

    b0 = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    b1 = time.monotonic()
    time.sleep(AFTER_S)
    stop_list.set()
    rows = list_out.get()
    lp.join()
    stop_sampling.set()
    time.sleep(SAMPLE_S * 2)

    before = [s for s in samples if s[0] < b0]
    during = [s for s in samples if b0 <= s[0] <= b1]
    after = [s for s in samples if s[0] > b1]
    codes = {}
    for _, c, _ in results:
        codes[c] = codes.get(c, 0) + 1
    retry = sorted({int(ra) for _, c, ra in results if c == 429 and ra})
    list_before = [d for t, d, c in rows if t < b0]
    list_during = [d for t, d, c in rows if b0 <= t <= b1]
    list_codes = {}
    for t, _, c in rows:
        if b0 <= t <= b1:
            list_codes[c] = list_codes.get(c, 0) + 1
    login_times = [d for d, _, _ in results]
    r = {
        "mode": MODE,
        "burst_s": round(b1 - b0, 2),
        "logins_per_s": round(LOGINS / (b1 - b0), 1),
        "login_codes": codes,
        "retry_after": [retry[0], retry[-1]] if retry else [],
        "login_p50_ms": pct(login_times, 50),
        "login_p99_ms": pct(login_times, 99),
        "login_max_ms": pct(login_times, 100),
        "rss_before_mb": round(before[-1][1] / 1024, 1),
        "rss_peak_mb": round(max(s[1] for s in during + after[:2]) / 1024, 1),
        "rss_after_mb": round(after[-1][1] / 1024, 1),
        "threads_before": before[-1][2],
        "threads_peak": max(s[2] for s in during),
        "threads_after": after[-1][2],
        "list_before_p50_ms": pct(list_before, 50),
        "list_before_p99_ms": pct(list_before, 99),
        "list_n": len(list_during),
        "list_codes": list_codes,
        "list_p50_ms": pct(list_during, 50),
        "list_p99_ms": pct(list_during, 99),
        "list_max_ms": pct(list_during, 100),
        "samples": len(samples),
    }
    print(json.dumps(r), file=sys.stderr)
    codes_s = " ".join(f"[{k}] {v}" for k, v in sorted(r["login_codes"].items()))
    ra = "–" if not retry else f"{retry[0]}–{retry[-1]}" if len(retry) > 1 else str(retry[0])
    print(
        f"| {LABEL} | {MODE} | {codes_s} | {ra} | {r['logins_per_s']} | {r['login_p50_ms']} "
        f"| {r['login_p99_ms']} | {r['rss_before_mb']} | {r['rss_peak_mb']} | {r['rss_after_mb']} "
        f"| {r['threads_before']} / {r['threads_peak']} / {r['threads_after']} | {r['list_n']} "
        f"| {r['list_before_p99_ms']} | {r['list_p50_ms']} | {r['list_p99_ms']} | {r['list_max_ms']} |"
    )


if __name__ == "__main__":
    mp.set_start_method("fork")
    main()
