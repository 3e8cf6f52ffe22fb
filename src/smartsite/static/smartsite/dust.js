/* A project's dust page (ECharts, vendored): a 24 h chart per monitor and the day's spray
   linkage timeline. Data come with the page (json_script); times are Shanghai wall-clock
   milliseconds drawn with useUTC, so every browser shows Shanghai time. */
(function () {
  "use strict";
  if (typeof echarts === "undefined") return;
  var charts = [];
  var narrow = window.matchMedia("(max-width: 760px)").matches;

  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function hhmm(ms) { var d = new Date(ms); return pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()); }
  function draw(el, option) {
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.on("finished", function () { el.setAttribute("data-drawn", "1"); });
    chart.setOption(option);
    charts.push(chart);
    return chart;
  }

  var series = data("charts-data") || {}, limit = data("limit-data"), span = data("window-data") || [];
  var limitLabel = data("limit-label-data") || ("限值 " + limit);
  Object.keys(series).forEach(function (id) {
    var el = document.getElementById(id), s = series[id];
    if (!el) return;
    var line = function (name, points, axis, colour) {
      return { name: name, type: "line", yAxisIndex: axis, showSymbol: false, sampling: "lttb",
               lineStyle: { width: 1.5 }, itemStyle: { color: colour }, data: points };
    };
    var pm10 = line("PM10", s.pm10 || [], 0, "#d97706");
    if (limit != null) {
      pm10.markLine = { symbol: "none", silent: true, data: [{ yAxis: limit }],
                        lineStyle: { color: "#dc2626", type: "dashed" },
                        label: { formatter: limitLabel, position: "insideEndTop", color: "#dc2626" } };
    }
    draw(el, {
      useUTC: true, animation: false,
      tooltip: { trigger: "axis" },
      legend: { top: 0, data: ["PM10", "PM2.5", "噪声"] },
      grid: { left: narrow ? 40 : 56, right: narrow ? 40 : 56, top: 36, bottom: 28 },
      xAxis: { type: "time", min: span[0], max: span[1], axisLabel: { hideOverlap: true, formatter: { hour: "{HH}:{mm}", day: "{MM}-{dd}", minute: "{HH}:{mm}" } } },
      yAxis: [{ type: "value", name: "µg/m³", min: 0, max: function (v) { return Math.max(v.max, limit || 0) * 1.1 | 0; },
                splitLine: { lineStyle: { type: "dashed" } } },
              { type: "value", name: "dB(A)", position: "right", scale: true, splitLine: { show: false } }],
      series: [pm10, line("PM2.5", s.pm25 || [], 0, "#7c3aed"), line("噪声", s.noise || [], 1, "#0891b2")]
    });
  });

  // The spray linkage: one row per monitor's exceedance periods and per linked spray.
  var t = data("timeline-data"), tEl = document.getElementById("timeline");
  if (t && tEl && t.rows.length) {
    var colours = { over: "#dc2626", spray: "#0891b2" };
    tEl.style.height = (70 + 34 * t.rows.length) + "px";
    draw(tEl, {
      useUTC: true, animation: false,
      tooltip: { formatter: function (p) {  // HTML: the rows hold stored device names
        return smartsite.escapeHtml(t.rows[p.value[0]]) + "<br>" + smartsite.escapeHtml(p.value[4]);
      } },
      grid: { left: narrow ? 96 : 150, right: 16, top: 28, bottom: 28 },
      legend: { top: 0, data: [{ name: "超标时段", itemStyle: { color: colours.over } },
                               { name: "喷淋/雾炮运行", itemStyle: { color: colours.spray } }] },
      xAxis: { type: "time", min: t.day[0], max: t.day[1], interval: (narrow ? 6 : 3) * 3600 * 1000,
               axisLabel: { formatter: function (v) { return v >= t.day[1] ? "24:00" : hhmm(v); } } },
      yAxis: { type: "category", data: t.rows, inverse: true, axisLabel: { fontSize: narrow ? 10 : 12 } },
      series: ["over", "spray"].map(function (kind) {
        return {
          name: kind === "over" ? "超标时段" : "喷淋/雾炮运行", type: "custom", itemStyle: { color: colours[kind] },
          encode: { x: [1, 2], y: 0 },
          data: t.bars.filter(function (b) { return b[3] === kind; }),
          renderItem: function (params, api) {
            var start = api.coord([api.value(1), api.value(0)]), end = api.coord([api.value(2), api.value(0)]);
            var h = api.size([0, 1])[1] * 0.55;
            var rect = echarts.graphic.clipRectByRect(
              { x: start[0], y: start[1] - h / 2, width: Math.max(end[0] - start[0], 2), height: h },
              { x: params.coordSys.x, y: params.coordSys.y, width: params.coordSys.width, height: params.coordSys.height });
            return rect && { type: "rect", shape: rect, style: api.style() };
          }
        };
      })
    });
  }

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
