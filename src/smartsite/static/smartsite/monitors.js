/* Monitor page charts (ECharts, vendored). Data come with the page (json_script), times as
   Shanghai wall-clock milliseconds drawn with useUTC, so every browser shows Shanghai time. */
(function () {
  "use strict";
  if (typeof echarts === "undefined") return;
  var charts = [];

  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function draw(el, option) {
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option);
    charts.push(chart);
    el.setAttribute("data-drawn", "1");
    return chart;
  }

  var narrow = window.matchMedia("(max-width: 760px)").matches;

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  /* An axis maximum that is a round number above both the data and the limit. */
  function roundUp(value) {
    var step = Math.pow(10, Math.floor(Math.log10(Math.max(value, 1)))) / 2;
    return Math.ceil(value / step) * step;
  }
  var timeLabels = { formatter: { hour: "{HH}:{mm}", day: "{MM}-{dd}", minute: "{HH}:{mm}" }, hideOverlap: true };

  var day = data("chart-24h-data"), dayEl = document.getElementById("chart-24h");
  if (day && dayEl) {
    var line = function (name, points, axis, colour) {
      return { name: name, type: "line", yAxisIndex: axis, showSymbol: false, sampling: "lttb",
               lineStyle: { width: 1.5 }, itemStyle: { color: colour }, data: points, connectNulls: false };
    };
    draw(dayEl, {
      useUTC: true,
      animation: false,
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "—" : v; } },
      legend: { top: 0, data: ["PM10", "PM2.5", "噪声"] },
      grid: { left: narrow ? 40 : 56, right: narrow ? 40 : 56, top: 40, bottom: 64 },
      xAxis: { type: "time", axisLabel: timeLabels },
      yAxis: [
        { type: "value", name: "µg/m³", min: 0, splitLine: { lineStyle: { type: "dashed" } } },
        { type: "value", name: "dB(A)", position: "right", scale: true, splitLine: { show: false } }
      ],
      dataZoom: [{ type: "inside" }, { type: "slider", height: 18, bottom: 8 }],
      series: [
        line("PM10", day.pm10, 0, "#d97706"),
        line("PM2.5", day.pm25, 0, "#7c3aed"),
        line("噪声", day.noise, 1, "#0891b2")
      ]
    });
  }

  var q = data("chart-quarters-data"), qEl = document.getElementById("chart-quarters");
  if (q && qEl && q.points.length) {
    var limit = q.limit;
    draw(qEl, {
      useUTC: true,
      animation: false,
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v + " µg/m³"; } },
      grid: { left: narrow ? 40 : 56, right: narrow ? 24 : 56, top: 32, bottom: 32 },
      xAxis: { type: "time", min: q.day[0], max: q.day[1], interval: 4 * 3600 * 1000,
               axisLabel: { hideOverlap: true, formatter: function (v) {
                 if (v >= q.day[1]) return "24:00";
                 var d = new Date(v); return pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
               } } },
      yAxis: { type: "value", name: "µg/m³", min: 0,
               max: function (v) { return roundUp(Math.max(v.max, limit || 0) * 1.1); } },
      series: [{
        name: q.label + " 15 分钟均值", type: "bar", barMaxWidth: 8,
        data: q.points.map(function (p) { return [p[0] + q.step / 2, p[1]]; }),
        itemStyle: { color: function (p) { return limit != null && p.value[1] > limit ? "#dc2626" : "#16a34a"; } },
        markLine: limit == null ? undefined : {
          symbol: "none", silent: true, lineStyle: { color: "#dc2626", type: "dashed", width: 1.5 },
          label: { formatter: q.limit_label || ("限值 " + limit), position: "insideEndTop", color: "#dc2626" },
          data: [{ yAxis: limit }]
        }
      }]
    });
  }

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
