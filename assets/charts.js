// Service-line, cloud and backup charts with ECharts (the monitor page's are in monitor_charts.js) (embedded); the tables below them carry the same data.
// Tooltips are drawn on the canvas (renderMode "richText"): the HTML tooltip writes inline
// style attributes, which the Content-Security-Policy (style-src 'self') refuses.
document.addEventListener("DOMContentLoaded", function () {
  if (!window.echarts) { return; }
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
  // Backups: one row per system and data set, one column per day of the month, each cell
  // coloured by the day's status (the same colours as the table below it). The height
  // follows the rows (set through the style object, which the CSP allows).
  var bh = document.getElementById("backup-heat-chart");
  if (bh) {
    var h = JSON.parse(bh.getAttribute("data-heat") || "{}");
    var colors = ["#34a853", "#f9ab00", "#d93025", "#a50e0e", "#e8eaed", "#ffffff"];
    var sts = h.statuses || [];
    bh.style.height = Math.max(260, 24 * (h.rows || []).length + 110) + "px";
    var c6 = echarts.init(bh);
    c6.setOption({
      tooltip: { renderMode: "richText", formatter: function (p) {
        var s = sts[p.value[2]] || {};
        return (h.rows[p.value[1]] || "") + "\n" + (h.days[p.value[0]] || "") + " 日：" + (s.label || "");
      } },
      grid: { left: 10, right: 10, top: 10, bottom: 60, containLabel: true },
      xAxis: { type: "category", data: h.days || [], splitArea: { show: true }, name: "日" },
      yAxis: { type: "category", data: h.rows || [], inverse: true, axisLabel: { width: 180, overflow: "truncate" } },
      visualMap: { type: "piecewise", orient: "horizontal", left: "center", bottom: 0,
        pieces: sts.map(function (s, i) { return { value: i, label: s.label, color: colors[i] }; }) },
      series: [{ name: "备份情况", type: "heatmap", data: h.cells || [],
        itemStyle: { borderColor: "#ccc", borderWidth: 1 } }]
    });
    window.addEventListener("resize", function () { c6.resize(); });
  }
});
