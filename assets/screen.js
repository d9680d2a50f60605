// The wall display (大屏): polls its JSON (the signed-in user's /api/v1/screen, or a display
// link's /api/v1/display/{token}, sent without cookies so no session is read or kept alive)
// and redraws the tiles, lists and ECharts charts. The first paint comes from the server.
// Tooltips are drawn on the canvas (renderMode "richText"): the CSP refuses inline styles.
(function () {
  "use strict";
  var wall, src, every, charts = {};
  var C = { ok: "#34d399", bad: "#f87171", warn: "#facc15", info: "#60a5fa", grey: "#64748b", axis: "#7fa3cf", line: "#1d3a63" };
  var STATE_COLORS = { "正常": C.ok, "故障": C.bad, "关注": C.warn, "维护": C.info, "待定": "#94a3b8", "未接入": C.grey };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function byId(id) { return document.getElementById(id); }
  function setText(id, t) { var e = byId(id); if (e) { e.textContent = t; } }
  function chart(id) {
    if (!window.echarts) { return null; }
    if (!charts[id]) { var e = byId(id); if (!e) { return null; } charts[id] = echarts.init(e, null, { renderer: "canvas" }); }
    return charts[id];
  }
  function pct(v) { return v === null || v === undefined ? "—" : (v * 100).toFixed(2) + "%"; }

  function drawCharts(d) {
    var trend = d.availability.trend || [];
    var t = chart("ch-trend");
    if (t) {
      t.setOption({
        animation: false,
        tooltip: { trigger: "axis", renderMode: "richText" },
        grid: { left: 52, right: 10, top: 12, bottom: 22 },
        xAxis: { type: "category", data: trend.map(function (x) { return x.date.slice(5); }),
                 axisLabel: { color: C.axis, fontSize: 11 }, axisLine: { lineStyle: { color: C.line } } },
        yAxis: { type: "value", max: 1, min: function (v) { return Math.max(0, Math.floor(v.min * 100) / 100 - 0.01); },
                 axisLabel: { color: C.axis, fontSize: 11, formatter: function (v) { return (v * 100).toFixed(0) + "%"; } },
                 splitLine: { lineStyle: { color: C.line } } },
        series: [{ name: "可用率", type: "line", smooth: true, showSymbol: false, connectNulls: false,
                   lineStyle: { color: C.ok, width: 2 }, areaStyle: { color: "rgba(52,211,153,0.15)" },
                   data: trend.map(function (x) { return x.availability; }) }],
        graphic: trend.length ? [] : [{ type: "text", left: "center", top: "middle",
                   style: { text: "近 30 天暂无监控数据", fill: C.grey, fontSize: 14 } }]
      }, true);
    }
    var pr = d.incidents_open_by_priority || {};
    var keys = ["P1", "P2", "P3", "P4"];
    var b = chart("ch-incidents");
    if (b) {
      b.setOption({
        animation: false,
        tooltip: { trigger: "axis", renderMode: "richText" },
        grid: { left: 36, right: 10, top: 12, bottom: 22 },
        xAxis: { type: "category", data: keys, axisLabel: { color: C.axis }, axisLine: { lineStyle: { color: C.line } } },
        yAxis: { type: "value", minInterval: 1, axisLabel: { color: C.axis }, splitLine: { lineStyle: { color: C.line } } },
        series: [{ name: "未结故障", type: "bar", barWidth: "45%",
                   label: { show: true, position: "top", color: "#e9f3ff" },
                   data: keys.map(function (k, i) {
                     return { value: pr[k] || 0, itemStyle: { color: [C.bad, "#fb923c", C.warn, C.info][i] } };
                   }) }]
      }, true);
    }
    var g = chart("ch-sla");
    if (g) {
      var v = d.sla.compliance;
      g.setOption({
        animation: false,
        series: [{ type: "gauge", min: 0, max: 100, radius: "92%", center: ["50%", "58%"],
                   startAngle: 210, endAngle: -30, splitNumber: 5,
                   axisLine: { lineStyle: { width: 14, color: [[0.9, C.bad], [0.95, C.warn], [1, C.ok]] } },
                   pointer: { show: v !== null && v !== undefined, width: 4, itemStyle: { color: "#e9f3ff" } },
                   axisTick: { show: false }, splitLine: { length: 10, lineStyle: { color: C.line } },
                   axisLabel: { color: C.axis, fontSize: 11, distance: 18 },
                   title: { show: true, offsetCenter: [0, "70%"], color: C.axis, fontSize: 13 },
                   detail: { valueAnimation: false, offsetCenter: [0, "36%"], fontSize: 26, color: "#e9f3ff",
                             formatter: function () { return v === null || v === undefined ? "无数据" : (v * 100).toFixed(1) + "%"; } },
                   data: [{ value: v === null || v === undefined ? 0 : +(v * 100).toFixed(1), name: "SLA 达标率" }] }]
      }, true);
    }
    var p = chart("ch-states");
    if (p) {
      var counts = d.system_counts || {};
      p.setOption({
        animation: false,
        tooltip: { trigger: "item", renderMode: "richText" },
        legend: { orient: "vertical", right: 4, top: "middle", textStyle: { color: C.axis } },
        series: [{ name: "系统状态", type: "pie", radius: ["45%", "72%"], center: ["38%", "50%"],
                   label: { color: "#e9f3ff", formatter: "{c}" },
                   data: Object.keys(counts).map(function (k) {
                     return { name: k, value: counts[k], itemStyle: { color: STATE_COLORS[k] || C.grey } };
                   }) }]
      }, true);
    }
  }

  function drawTiles(d) {
    var box = byId("system-tiles");
    if (!box) { return; }
    var frag = document.createDocumentFragment();
    (d.systems || []).forEach(function (t) {
      var a = el("a", "stile s-" + t.state);
      if (!d.link) { a.href = "/systems/" + t.id; }
      a.setAttribute("data-id", t.id);
      a.appendChild(el("b", null, t.name));
      a.appendChild(el("span", "st", t.label));
      a.appendChild(el("span", "av", t.footnote));
      frag.appendChild(a);
    });
    box.replaceChildren(frag);
    var c = d.system_counts || {};
    setText("k-counts", Object.keys(c).map(function (k) { return k + " " + c[k]; }).join("　"));
  }

  function drawRooms(d) {
    var box = byId("rooms");
    if (!box) { return; }
    var frag = document.createDocumentFragment();
    (d.rooms || []).forEach(function (r) {
      var room = el("div", "room s-" + r.state);
      var h = el("div", "rh");
      h.appendChild(el("b", null, r.name));
      h.appendChild(el("span", null, r.label + " · 设备 " + r.assets + " 台 · 监控 " + r.up + "/" + r.monitors));
      room.appendChild(h);
      var rs = el("div", "readings");
      r.readings.forEach(function (x) {
        var c = el("div", "rd s-" + x.state);
        c.appendChild(el("span", "rl", x.label));
        c.appendChild(el("span", "rv", x.value || x.state_label));
        rs.appendChild(c);
      });
      room.appendChild(rs);
      frag.appendChild(room);
    });
    if (!(d.rooms || []).length) { frag.appendChild(el("p", "note", "未登记机房")); }
    box.replaceChildren(frag);
  }

  function drawLists(d) {
    var pr = byId("prio");
    if (pr) {
      var f = document.createDocumentFragment();
      ["P1", "P2", "P3", "P4"].forEach(function (k) {
        var b = el("div", "pb p-" + k);
        b.appendChild(el("b", null, (d.incidents_open_by_priority || {})[k] || 0));
        b.appendChild(el("span", null, k));
        f.appendChild(b);
      });
      pr.replaceChildren(f);
    }
    var al = byId("alerts");
    if (al) {
      var fa = document.createDocumentFragment();
      (d.alerts || []).forEach(function (a) {
        var li = el("li", "p-" + a.priority);
        li.appendChild(el("b", null, a.priority));
        li.appendChild(el("span", "at", (a.system ? a.system + "：" : "") + a.title));
        li.appendChild(el("span", "as", a.since));
        fa.appendChild(li);
      });
      if (!(d.alerts || []).length) { fa.appendChild(el("li", "none", "当前无未恢复告警")); }
      al.replaceChildren(fa);
    }
    var oc = byId("oncall");
    if (oc) {
      var fo = document.createDocumentFragment();
      (d.on_call || []).forEach(function (p) {
        var li = el("li");
        li.appendChild(el("b", null, p.name));
        li.appendChild(el("span", null, p.role + " · 至 " + p.until));
        fo.appendChild(li);
      });
      if (!(d.on_call || []).length) { fo.appendChild(el("li", "none", "当前无排班")); }
      oc.replaceChildren(fo);
    }
    setText("k-avail-today", pct(d.availability.today));
    setText("k-avail-30", pct(d.availability.days30));
    setText("k-tickets", "未结工单 " + d.tickets_open);
    setText("k-alerts", "未恢复 " + d.open_alerts);
    setText("k-sla", "本月工单 " + d.sla.tickets + " 张 · 已解决 " + d.sla.resolved + " 张");
    setText("w-updated", "更新于 " + d.updated);
  }

  function status(text, ok) {
    var s = byId("w-status");
    if (s) { s.textContent = text; s.className = ok ? "w-ok" : "w-err"; }
  }

  function draw(d) {
    drawTiles(d);
    drawRooms(d);
    drawLists(d);
    drawCharts(d);
    wall.setAttribute("data-drawn", String(Date.now()));
  }

  function poll() {
    // A display link's data is authorized by its token alone: no cookie goes with it.
    var own = src.indexOf("/api/v1/display/") === 0 ? "omit" : "same-origin";
    fetch(src, { credentials: own, cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (r.status === 401) { throw new Error(own === "omit" ? "展示链接已失效，请联系系统管理员" : "登录已过期"); }
        if (!r.ok) { throw new Error("数据暂不可用（" + r.status + "）"); }
        return r.json();
      })
      .then(function (d) { draw(d); status("每 " + every + " 秒自动刷新", true); })
      .catch(function (e) { status(e.message || "网络中断，稍后重试", false); })
      .then(function () { window.setTimeout(poll, every * 1000); });
  }

  function tick() {
    var now = new Date(Date.now() + 8 * 3600 * 1000);
    var z = function (n) { return (n < 10 ? "0" : "") + n; };
    setText("w-clock", now.getUTCFullYear() + "-" + z(now.getUTCMonth() + 1) + "-" + z(now.getUTCDate()) + " " +
      z(now.getUTCHours()) + ":" + z(now.getUTCMinutes()) + ":" + z(now.getUTCSeconds()));
  }

  document.addEventListener("DOMContentLoaded", function () {
    wall = byId("wall");
    if (!wall) { return; }
    src = wall.getAttribute("data-src");
    every = Math.max(10, parseInt(wall.getAttribute("data-refresh"), 10) || 30);
    tick();
    window.setInterval(tick, 1000);
    window.addEventListener("resize", function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); });
    poll();
  });
}());
