/* The monitor page's spray/fog cannon timeline: one step line per linked device over the
   last 24 h (1 running, 0 stopped), Shanghai wall-clock milliseconds drawn with useUTC. */
(function () {
  "use strict";
  function start() {
    var el = document.getElementById("chart-sprays"), src = document.getElementById("chart-sprays-data");
    if (!el || !src || typeof echarts === "undefined") return;
    var data = JSON.parse(src.textContent);
    var n = data.devices.length;
    el.style.height = Math.max(120, 60 + 36 * n) + "px";
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      useUTC: true,
      animation: false,
      tooltip: { trigger: "axis", formatter: function (ps) {
        return ps.map(function (p) {  // HTML: series are named after stored device names
          return smartsite.escapeHtml(p.seriesName) + "：" + (p.value[1] % 2 ? "运行" : "关闭");
        }).join("<br>");
      } },
      grid: { left: 8, right: 16, top: 24, bottom: 28, containLabel: true },
      xAxis: { type: "time", min: data.window[0], max: data.window[1],
               axisLabel: { formatter: { hour: "{HH}:{mm}", day: "{MM}-{dd}" }, hideOverlap: true } },
      yAxis: { type: "value", min: -0.5, max: 2 * n - 0.5, interval: 2,
               axisLabel: { formatter: function (v) { var d = data.devices[Math.round(v / 2)]; return d ? d.name : ""; } },
               splitLine: { show: false } },
      series: data.devices.map(function (d, i) {
        return { name: d.name, type: "line", step: "end", showSymbol: false,
                 areaStyle: { opacity: 0.15, origin: 2 * i }, lineStyle: { width: 2 },
                 data: d.points.map(function (p) { return [p[0], 2 * i + p[1]]; }) };
      })
    });
    el.setAttribute("data-drawn", "1");
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
