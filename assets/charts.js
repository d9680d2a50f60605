// Monitor and service-line charts with ECharts (embedded); the tables below them carry the same data.
// Tooltips are drawn on the canvas (renderMode "richText"): the HTML tooltip writes inline
// style attributes, which the Content-Security-Policy (style-src 'self') refuses.
document.addEventListener("DOMContentLoaded", function () {
  if (!window.echarts) { return; }
  var el = document.getElementById("latency-chart");
  if (el) {
    var s = JSON.parse(el.getAttribute("data-series") || "[]");
    var c = echarts.init(el);
    c.setOption({
      tooltip: { trigger: "axis", renderMode: "richText" },
      grid: { left: 50, right: 20, top: 20, bottom: 30 },
      xAxis: { type: "time" },
      yAxis: { type: "value", name: "毫秒" },
      series: [
        { name: "延迟", type: "line", showSymbol: false, data: s.map(function (p) { return [p[0], p[1]]; }) },
        { name: "失败", type: "scatter", itemStyle: { color: "#d93025" },
          data: s.filter(function (p) { return !p[2]; }).map(function (p) { return [p[0], p[1] || 0]; }) }
      ]
    });
    window.addEventListener("resize", function () { c.resize(); });
  }
  var dl = document.getElementById("daily-chart");
  if (dl) {
    var d = JSON.parse(dl.getAttribute("data-days") || "[]");
    var c2 = echarts.init(dl);
    c2.setOption({
      tooltip: { trigger: "axis", renderMode: "richText" },
      grid: { left: 50, right: 20, top: 20, bottom: 30 },
      xAxis: { type: "category", data: d.map(function (x) { return x.date; }) },
      yAxis: { type: "value", min: function (v) { return Math.max(0, Math.floor(v.min * 100) / 100 - 0.01); }, max: 1,
               axisLabel: { formatter: function (v) { return (v * 100).toFixed(1) + "%"; } } },
      series: [{ name: "可用率", type: "bar", data: d.map(function (x) { return x.availability; }) }]
    });
    window.addEventListener("resize", function () { c2.resize(); });
  }
  // A service line's last twelve months: records per month by type (stacked bars) and
  // the satisfaction per month (a line; months without ratings are gaps).
  var rc = document.getElementById("line-records-chart");
  if (rc) {
    var t = JSON.parse(rc.getAttribute("data-trend") || "{}");
    var c3 = echarts.init(rc);
    c3.setOption({
      tooltip: { trigger: "axis", renderMode: "richText" },
      legend: { top: 0 },
      grid: { left: 50, right: 20, top: 30, bottom: 30 },
      xAxis: { type: "category", data: t.months || [] },
      yAxis: { type: "value", name: "条", minInterval: 1 },
      series: (t.series || []).map(function (s) {
        return { name: s.label, type: "bar", stack: "records", data: s.counts };
      })
    });
    window.addEventListener("resize", function () { c3.resize(); });
  }
  var sc = document.getElementById("line-satisfaction-chart");
  if (sc) {
    var t2 = JSON.parse(sc.getAttribute("data-trend") || "{}");
    var c4 = echarts.init(sc);
    c4.setOption({
      tooltip: { trigger: "axis", renderMode: "richText" },
      grid: { left: 50, right: 20, top: 20, bottom: 30 },
      xAxis: { type: "category", data: t2.months || [] },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      series: [{ name: "满意度", type: "line", connectNulls: false, data: t2.satisfaction || [] }]
    });
    window.addEventListener("resize", function () { c4.resize(); });
  }
  // Cloud resources: the average utilisation of the month and the previous months, one
  // line per series (all resources' CPU and memory, each system's CPU); gaps where a
  // month had no data.
  var cc = document.getElementById("cloud-trend-chart");
  if (cc) {
    var t3 = JSON.parse(cc.getAttribute("data-trend") || "{}");
    var c5 = echarts.init(cc);
    c5.setOption({
      tooltip: { trigger: "axis", renderMode: "richText" },
      legend: { top: 0, type: "scroll" },
      grid: { left: 50, right: 20, top: 40, bottom: 30 },
      xAxis: { type: "category", data: t3.months || [] },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      series: (t3.series || []).map(function (s) {
        return { name: s.name, type: "line", connectNulls: false, data: s.data };
      })
    });
    window.addEventListener("resize", function () { c5.resize(); });
  }
});
