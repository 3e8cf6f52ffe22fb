/* The attendance pages (ECharts, vendored): the rankings page's monthly rate since go-live,
   overall and per post class, with the 80 % line. Data come with the page (json_script);
   month labels are our own strings, so nothing stored reaches a tooltip unescaped. */
(function () {
  "use strict";
  if (typeof echarts === "undefined") return;
  var narrow = window.matchMedia("(max-width: 760px)").matches;
  var esc = window.smartsite.escapeHtml;

  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  var trend = data("trend-data"), el = document.getElementById("trend-chart");
  if (!trend || !el) return;
  var chart = echarts.init(el, null, { renderer: "canvas" });
  chart.on("finished", function () { el.setAttribute("data-drawn", "1"); });
  function line(name, values, colour, width) {
    return { name: name, type: "line", data: values, connectNulls: false, symbolSize: 6,
             itemStyle: { color: colour }, lineStyle: { width: width || 2, color: colour } };
  }
  var all = line("全部关键岗位", trend.series.all, "#111827", 2.5);
  all.markLine = { symbol: "none", silent: true, data: [{ yAxis: trend.line, lineStyle: { color: "#dc2626", type: "dashed" },
                   label: { formatter: trend.line + "%", position: "insideEndTop", color: "#dc2626" } }] };
  chart.setOption({
    animation: false,
    tooltip: { trigger: "axis", formatter: function (ps) {
      if (!ps.length) return "";
      return esc(ps[0].axisValue) + ps.map(function (p) {
        return "<br>" + p.marker + esc(p.seriesName) + "：<b>" + (p.value == null ? "—" : p.value + "%") + "</b>";
      }).join("");
    } },
    legend: { top: 0, data: ["全部关键岗位", "第一类", "第二类"] },
    grid: { left: narrow ? 40 : 52, right: narrow ? 14 : 28, top: 36, bottom: 28 },
    xAxis: { type: "category", data: trend.months, boundaryGap: false },
    yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" }, splitLine: { lineStyle: { type: "dashed" } } },
    series: [all, line("第一类", trend.series.I, "#1d4ed8"), line("第二类", trend.series.II, "#0891b2")]
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
