#!/usr/bin/env python3
"""Extracts the data sets the seed names per system (4.1.2.x: "处理共约NG的…数据备份、更新、
归档") into demo/backup_policies.json. The seed gives no schedules; demo.rs adds a
default (daily 02:00 full) and says so in each policy's note.

Usage: extract_backup_policies.py SEED > demo/backup_policies.json"""
import json
import re
import sys

lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
code = None
out = []
for line in lines:
    m = re.match(r"^(4\.1\.2\.\d+)", line)
    if m:
        code = m.group(1)
        continue
    if code and "数据备份" in line and "共约" in line:
        clause = line[: line.index("数据备份")]
        clause = clause[clause.rfind("共约") + 2 :]
        for part in re.split(r"、(?=\d+G)", clause):
            pm = re.match(r"^(\d+)G的?(.*)$", part)
            if not pm:
                sys.exit(f"{code}: cannot read {part!r}")
            name = pm.group(2).strip().removesuffix("的")
            out.append({"system_code": code, "data_set": name if name.endswith("数据") else f"{name}数据",
                        "volume_gb": int(pm.group(1)),
                        "source": f"招标文件 {code}：约 {pm.group(1)}G 数据的备份、更新、归档"})
        code = None
json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
print()
