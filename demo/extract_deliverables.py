"""Extracts the deliverables register (demo/deliverables.json) from the seed's 采购需求.

Every document the seed names in 《》 with its section and line, 4.2.7's two reports named
without 《》, and the monthly 运营服务工作报告 of each line that must report monthly
(按月提交运营服务工作报告) and names no monthly report. Cadences, due rules and report kinds
follow the document's name; where the seed gives no time, the note says so.

Usage: python3 demo/extract_deliverables.py SEED.txt demo/deliverables.json
"""
import sys
import json, re
seed = open(sys.argv[1], encoding='utf-8').read().split('\n')
head = re.compile(r'^(4\.\d+(?:\.\d+)*)')
WD = lambda anchor, days: {"anchor": anchor, "days": days, "working": True}
OUTLINES = {
 "维护规范": "1 总则（目的、适用范围、依据）\n2 职责分工\n3 日常维护与例行巡检\n4 响应支持与故障处理流程\n5 变更与升级管理\n6 备份与恢复\n7 安全管理\n8 文档与记录\n9 考核与改进",
 "需求规格说明书": "1 引言（目的、范围、术语）\n2 总体描述\n3 功能需求\n4 非功能需求（性能、安全、兼容）\n5 接口需求\n6 验收标准",
 "设计说明书": "1 引言\n2 总体设计（架构、部署）\n3 模块设计\n4 接口设计\n5 数据设计\n6 安全设计",
 "测试报告": "1 测试概述（范围、环境）\n2 测试用例与执行情况\n3 缺陷统计与处理\n4 测试结论",
 "操作手册": "1 概述\n2 运行环境与登录\n3 功能操作说明（按菜单）\n4 常见问题",
}
def classify(name, sec):
    area = "infrastructure" if sec.startswith("4.1.1") else "systems" if sec.startswith("4.1.2") else "operations"
    kind, cad, due, note, outline = None, "monthly", WD("period_end", 5), None, None
    for k, o in OUTLINES.items():
        if k in name:
            outline = o
    if "维护规范" in name:
        cad, due = "once", WD("period_start", 20)
    elif "周期巡检报告" in name:
        cad, kind, due, note = "quarterly", "inspection_cycle", WD("period_end", 5), "采购需求未规定巡检周期，按季度排期；生成时指定巡检计划"
    elif "月度巡检报告" in name:
        kind = "inspection_monthly"
    elif "年终总结报告" in name:
        cad, kind, due = "yearly", "annual_summary", WD("period_end", 10)
    elif "技术支持月报" in name:
        kind = "line_monthly"
    elif re.search("技术支持(服务)?表|技术支持报告|明细表", name):
        kind = "support_table"
    elif "需求和功能改进清单" in name or "改进需求收集表" in name:
        kind = "requirements_list"
    elif "云资源利用率" in name:
        kind = "cloud_utilization"
    elif "数据统计季报" in name:
        cad, kind, due = "quarterly", "line_statistics", WD("period_end", 10)
    elif "运营季报" in name:
        cad, due = "quarterly", WD("period_end", 10)
    elif "统计报表" in name:
        kind = "line_statistics"
    elif "月报" in name or "月度运营报告" in name or "运营服务工作报告" in name:
        kind = "line_monthly"
    elif "年度报表" in name:
        cad, due = "yearly", WD("period_end", 10)
    elif "总结报告" in name:
        cad, kind, due = "yearly", "line_summary", WD("period_end", 10)
    else:  # 调研报告, 图册, 数据对接报告, the 4.2.20 documents
        cad, due, note = "at_acceptance", WD("period_end", 10), "采购需求未规定提交时间，验收时提交"
    return area, kind, cad, due, note, outline

out, sec = [], None
for n, line in enumerate(seed, 1):
    m = head.match(line.strip())
    if m:
        sec = m.group(1)
        if sec.count('.') == 1:  # 4.1 / 4.2 headings
            continue
    if n > 1000 or sec is None:
        continue
    names = re.findall(r'《([^》]+)》', line)
    # 4.2.7 names its two reports without 《》.
    if sec == "4.2.7" and line.strip() in ("月度运营报告", "年度运营总结报告"):
        names = [line.strip()]
    for name in names:
        s = "4.1.1" if sec.startswith("4.1.1") else "4.1.2" if sec.startswith("4.1.2") else sec
        area, kind, cad, due, note, outline = classify(name, s)
        if sec == "4.2.7":
            note = "采购需求列为日常运营交付物（未加书名号）"
        e = {"section": s, "name": name, "area": area, "cadence": cad, "due": due}
        if area == "operations": e["line_code"] = s
        if kind: e["report_kind"] = kind
        if outline: e["outline"] = outline
        e["note"] = ((note + "；") if note else "") + f"采购需求第 {n} 行"
        out.append(e)
named = len(out)
# The monthly work report of each line that asks for one (按月提交运营服务工作报告) and has no
# monthly report among its named deliverables.
monthly_lines = []
for n, line in enumerate(seed, 1):
    m = head.match(line.strip())
    if m: sec = m.group(1)
    if "按月提交运营服务工作报告" in line and sec.startswith("4.2."):
        monthly_lines.append((sec, n))
for s, n in monthly_lines:
    mine = [e for e in out if e["section"] == s and e.get("cadence") == "monthly" and e.get("report_kind") == "line_monthly"]
    if mine: continue
    out.append({"section": s, "name": "运营服务工作报告（月度）", "area": "operations", "line_code": s,
                "cadence": "monthly", "due": WD("period_end", 5), "report_kind": "line_monthly",
                "note": f"采购需求第 {n} 行：按月提交运营服务工作报告"})
json.dump(out, open(sys.argv[2], 'w', encoding='utf-8'), ensure_ascii=False, indent=1)
print(named, len(out))
