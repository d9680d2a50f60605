// Monitor charts with ECharts (embedded); the tables below them carry the same data.
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
});
