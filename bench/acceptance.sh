#!/usr/bin/env bash
# Benchmark (issue 13): the acceptance package (GET /api/v1/acceptance-package) for a whole
# simulated service year on the release build. The demo (seed inventory, contract and its
# 70 deliverables) is loaded; the machine's clock is past both service periods, so every
# instance is due. Each instance of the whole year gets an uploaded version (a PDF of
# SIZE_KB, default 200 KB, of random bytes so that nothing compresses, as a manager) and is accepted by the purchaser, except every
# seventh, which is returned, and every eleventh, left missing; then the package is
# downloaded three times and timed, and its SHA256SUMS checked with sha256sum.
#
# Usage: bench/acceptance.sh [sqlite|postgres|both]. Needs python3 (requests-free: urllib).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
WHICH=${1:-both}
SIZE_KB=${SIZE_KB:-200}
MONITORING=false
bench_bin
bench_work acc

run_one() {
  local label=$1 url=$2 dir base
  dir=$(mktemp -d "$WORK/$label.XXXX")
  start_yunwei "$dir" "$url" --demo
  base=$BASE
  python3 - "$base" "$PW" "$SIZE_KB" "$WORK/pkg-$label.zip" "$label" <<'PY'
import json, sys, time, urllib.request, uuid, zipfile, hashlib
base, pw, size_kb, out, label = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]

def call(method, path, token=None, body=None, ctype="application/json"):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(base + path, data=data, method=method)
    if token: req.add_header("Authorization", "Bearer " + token)
    if data is not None: req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req) as r:
            raw = r.read()
            return r.status, raw
    except urllib.error.HTTPError as e:
        return e.code, e.read()

def login(user, password):
    s, b = call("POST", "/api/v1/auth/login", body={"username": user, "password": password})
    assert s == 200, (user, s, b)
    return json.loads(b)["token"]

admin = login("admin", pw)
def person(name, role):
    s, b = call("POST", "/api/v1/users", admin, {"username": name, "display_name": name, "role": role, "password": "Initial#Pass1"})
    assert s == 201, b
    t = login(name, "Initial#Pass1")
    s, b = call("POST", "/api/v1/auth/password", t, {"current_password": "Initial#Pass1", "new_password": "Changed#Pass2"})
    assert s == 204, b
    return login(name, "Changed#Pass2")
mgr, sup = person("jingli", "manager"), person("jiafang", "supervisor")

import os
pdf = b"%PDF-1.4\n" + os.urandom(size_kb * 1024) + b"\n%%EOF\n"
s, b = call("GET", "/api/v1/deliverables?limit=500", mgr)
items = json.loads(b)["items"]
n = accepted = returned = missing = 0
t0 = time.time()
for d in items:
    s, b = call("GET", f"/api/v1/deliverables/{d['id']}/instances", mgr)
    for inst in json.loads(b)["items"] if isinstance(json.loads(b), dict) else json.loads(b):
        n += 1
        if n % 11 == 0:
            missing += 1
            continue
        key = inst["key"]
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{d['name']}-{key}.pdf\"\r\n"
                f"Content-Type: application/pdf\r\n\r\n").encode() + pdf + f"\r\n--{boundary}--\r\n".encode()
        s, b = call("POST", f"/api/v1/deliverables/{d['id']}/instances/{key}/versions", mgr, body,
                    f"multipart/form-data; boundary={boundary}")
        assert s == 201, (s, b[:300])
        decision = "return" if n % 7 == 0 else "accept"
        s, b = call("POST", f"/api/v1/deliverables/{d['id']}/instances/{key}/review", sup,
                    {"decision": decision, "comment": "请补充签字页" if decision == "return" else None})
        assert s == 200, (s, b[:300])
        if decision == "accept": accepted += 1
        else: returned += 1
seeded = time.time() - t0
times = []
for _ in range(3):
    t = time.time()
    s, b = call("GET", "/api/v1/acceptance-package?period=all", sup)
    times.append(time.time() - t)
    assert s == 200, (s, b[:300])
open(out, "wb").write(b)
z = zipfile.ZipFile(out)
sums = z.read("SHA256SUMS").decode().splitlines()
for line in sums:
    digest, name = line.split("  ", 1)
    assert hashlib.sha256(z.read(name)).hexdigest() == digest, name
times.sort()
print(f"| {label} | {len(items)} | {n} | {accepted} | {returned} | {missing} | {len(b) / 1e6:.1f} | {len(sums)} | {times[1]:.2f} | {seeded:.0f} |")
PY
  stop_yunwei
}

echo "| backend | deliverables | instances | accepted | returned | missing | package MB | files in SHA256SUMS | package s (median of 3) | seeding s |"
echo "|---|---|---|---|---|---|---|---|---|---|"
on_backends "$WHICH" yunwei_bench_acc run_one
