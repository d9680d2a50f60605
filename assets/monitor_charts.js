// The monitor page's charts. Times are Beijing time whatever the browser's time zone:
// ECharts runs in UTC (useUTC) on times shifted by eight hours, so its axis ticks and our
// labels fall on Beijing hours. Failed checks are red markers on the axis with their
// reason, never a latency. Tooltips are drawn on the canvas (renderMode "richText"): the
// HTML tooltip writes inline styles, which the Content-Security-Policy refuses.
document.addEventListener("DOMContentLoaded", function () {
  if (!window.echarts) { return; }
  var SHIFT = 8 * 3600 * 1000;
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function bj(ms) {
    var d = new Date(ms + SHIFT);
    return d.getUTCFullYear() + "-" + two(d.getUTCMonth() + 1) + "-" + two(d.getUTCDate()) + " " +
      two(d.getUTCHours()) + ":" + two(d.getUTCMinutes()) + ":" + two(d.getUTCSeconds());
  }
  var el = document.getElementById("latency-chart");
  if (el) {
    var s = JSON.parse(el.getAttribute("data-series") || "[]");
    var ok = s.filter(function (p) { return p[2]; }).map(function (p) { return [p[0] + SHIFT, p[1]]; });
    var bad = s.filter(function (p) { return !p[2]; }).map(function (p) { return [p[0] + SHIFT, 0, p[3] || "检测失败"]; });
    // Under an hour of data: the axis labels carry seconds.
    var short = s.length > 0 && s[s.length - 1][0] - s[0][0] < 3600 * 1000;
    var c = echarts.init(el);
    c.setOption({
      useUTC: true,
      tooltip: { trigger: "item", renderMode: "richText", formatter: function (p) {
        var t = bj(p.value[0] - SHIFT);
        return p.seriesName === "失败" ? t + "\n失败：" + p.value[2] : t + "\n延迟 " + p.value[1] + " 毫秒";
      } },
      legend: { top: 0, data: ["延迟", "失败"] },
      grid: { left: 50, right: 20, top: 30, bottom: 30 },
      xAxis: { type: "time", axisLabel: { formatter: function (v) { return bj(v - SHIFT).slice(11, short ? 19 : 16); } } },
      yAxis: { type: "value", name: "毫秒", min: 0 },
      series: [
        { name: "延迟", type: "line", showSymbol: ok.length < 60, connectNulls: false, data: ok },
        { name: "失败", type: "scatter", symbol: "triangle", symbolSize: 10, itemStyle: { color: "#d93025" }, data: bad }
      ]
    });
    window.addEventListener("resize", function () { c.resize(); });
  }
  var dl = document.getElementById("daily-chart");
  if (dl) {
    var d = JSON.parse(dl.getAttribute("data-days") || "[]");
    var c2 = echarts.init(dl);
    c2.setOption({
      tooltip: { trigger: "axis", renderMode: "richText", formatter: function (ps) {
        var p = ps[0]; var v = p.value;
        return p.name + "：" + (v === null || v === undefined || v === "-" ? "无数据" : (v * 100).toFixed(3) + "%");
      } },
      grid: { left: 60, right: 20, top: 20, bottom: 30 },
      xAxis: { type: "category", data: d.map(function (x) { return x.date.slice(5); }) },
      yAxis: { type: "value", max: 1, min: function (v) { return Math.max(0, Math.floor(v.min * 100) / 100 - 0.01); },
               axisLabel: { formatter: function (v) { return (v * 100).toFixed(1) + "%"; } } },
      series: [{ name: "可用率", type: "bar", data: d.map(function (x) { return x.availability === null ? "-" : x.availability; }),
                 itemStyle: { color: function (p) { return p.value < 0.999 ? "#d93025" : "#34a853"; } } }]
    });
    window.addEventListener("resize", function () { c2.resize(); });
  }
});
