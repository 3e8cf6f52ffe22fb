/* The pit pages (ECharts, vendored): a pit's plan with its points by level, a point's
   cumulative curve with its 预警值 and 70 % lines and the construction stages, the
   inclinometer profiles; and the dashboard's pits by district and colour. Data come with the
   page (json_script); times are Shanghai wall-clock milliseconds drawn with useUTC (as in
   dust.js). Stored text (point codes, stage and district names) goes through
   smartsite.escapeHtml before it reaches a tooltip. */
(function () {
  "use strict";
  if (typeof echarts === "undefined") return;
  var charts = [];
  var narrow = window.matchMedia("(max-width: 760px)").matches;
  var esc = window.smartsite.escapeHtml;

  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  function draw(el, option) {
    var chart = echarts.getInstanceByDom(el) || echarts.init(el, null, { renderer: "canvas" });
    chart.on("finished", function () { el.setAttribute("data-drawn", "1"); });
    chart.setOption(option, true);
    if (charts.indexOf(chart) < 0) charts.push(chart);
    return chart;
  }
  function num(v, digits) { return v == null ? "—" : (+v).toFixed(digits == null ? 2 : digits); }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function day(ms) { var d = new Date(ms); return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()); }

  var plan = data("plan-data"), curves = data("curves-data") || {}, stages = data("stages-data") || [];
  var levelInfo = {};
  ((plan && plan.levels) || []).forEach(function (l) { levelInfo[l[0]] = { label: l[1], colour: l[2] }; });

  // ------------------------------------------------------------ a point's curve
  var curveEl = document.getElementById("curve-chart"), picker = document.getElementById("curve-point");
  function drawCurve(code) {
    var c = curves[code];
    if (!curveEl || !c) return;
    var lines = [];
    if (c.limit != null) {
      lines.push({ yAxis: c.limit, name: "预警值", lineStyle: { color: "#dc2626", type: "dashed", width: 1.5 },
                   label: { formatter: "预警值 " + num(c.limit, 1), position: "insideEndTop", color: "#dc2626" } });
      lines.push({ yAxis: c.watch, name: "70%", lineStyle: { color: "#f59e0b", type: "dashed" },
                   label: { formatter: "70% " + num(c.watch, 1), position: "insideEndBottom", color: "#b45309" } });
    }
    var first = c.data.length ? c.data[0][0] : null, last = c.data.length ? c.data[c.data.length - 1][0] : null;
    stages.forEach(function (s) {
      if (first !== null && (s[0] < first - 86400000 * 3 || s[0] > last)) return;
      lines.push({ xAxis: s[0], name: s[1], lineStyle: { color: "#64748b", type: "dotted" },
                   label: { formatter: s[1], position: "insideEndTop", color: "#475569", fontSize: narrow ? 9 : 11 } });
    });
    var values = c.data.map(function (p) { return p[1]; }).concat(c.limit == null ? [] : [c.limit, 0]);
    var lo = Math.min.apply(null, values.length ? values : [0]), hi = Math.max.apply(null, values.length ? values : [1]);
    var padding = Math.max((hi - lo) * 0.08, 0.5);
    var colour = (levelInfo[c.level] || {}).colour || "#1d4ed8";
    draw(curveEl, {
      useUTC: true, animation: false,
      title: c.data.length ? null : { text: "暂无可比较的数据（初始值测定中或未观测）", left: "center", top: "middle",
                                      textStyle: { fontSize: 13, color: "#6b7280", fontWeight: 400 } },
      tooltip: { trigger: "axis", formatter: function (ps) {
        var p = ps[0]; if (!p) return "";
        return esc(c.name) + "<br>" + day(p.value[0]) + " " + new Date(p.value[0]).toISOString().slice(11, 16)
          + "：<b>" + num(p.value[1]) + "</b> " + esc(c.unit);
      } },
      grid: { left: narrow ? 44 : 56, right: narrow ? 16 : 28, top: 28, bottom: 28 },
      xAxis: { type: "time", axisLabel: { hideOverlap: true, formatter: { month: "{MM}-{dd}", day: "{MM}-{dd}", hour: "{HH}:{mm}" } } },
      yAxis: { type: "value", name: c.force ? "设计值 %" : "累计 " + c.unit, min: +(lo - padding).toFixed(1), max: +(hi + padding).toFixed(1),
               splitLine: { lineStyle: { type: "dashed" } } },
      series: [{ name: c.name, type: "line", showSymbol: c.data.length < 60, symbolSize: 4, data: c.data,
                 itemStyle: { color: colour }, lineStyle: { width: 1.8, color: "#1d4ed8" },
                 markLine: { symbol: "none", silent: true, data: lines } }]
    });
  }
  if (picker) {
    picker.addEventListener("change", function () { drawCurve(picker.value); });
    drawCurve(picker.value);
  }

  // ------------------------------------------------------------ the plan
  var planEl = document.getElementById("plan-chart");
  if (plan && planEl) {
    var xs = [], ys = [];
    plan.outline.forEach(function (c) { xs.push(c[0]); ys.push(c[1]); });
    plan.points.forEach(function (p) { xs.push(p[0]); ys.push(p[1]); });
    var grid = { left: 40, right: 14, top: 14, bottom: 26 };
    // Equal metres on both axes: widen the shorter range to the chart's aspect.
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs), y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    var w = Math.max(planEl.clientWidth - grid.left - grid.right, 50), h = Math.max(planEl.clientHeight - grid.top - grid.bottom, 50);
    var span = Math.max((x1 - x0) / w, (y1 - y0) / h, 0.01) * 1.12;
    var cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
    var byLevel = {};
    plan.points.forEach(function (p) { (byLevel[p[4]] = byLevel[p[4]] || []).push(p); });
    var series = [{
      name: "基坑轮廓", type: "custom", silent: true, z: 1,
      renderItem: function (params, api) {
        return { type: "polygon", shape: { points: plan.outline.map(function (c) { return api.coord(c); }) },
                 style: { fill: "rgba(148,163,184,0.18)", stroke: "#475569", lineWidth: 2 } };
      },
      data: plan.outline.length >= 3 ? [0] : []
    }];
    plan.levels.forEach(function (l) {
      series.push({ name: l[1], type: "scatter", z: 3, symbolSize: narrow ? 11 : 13, data: byLevel[l[0]] || [],
                    itemStyle: { color: l[2], borderColor: "#fff", borderWidth: 1.5 },
                    label: { show: !narrow && plan.points.length <= 40, formatter: function (p) { return p.value[2]; },
                             position: "right", fontSize: 10, color: "#334155" } });
    });
    var planChart = draw(planEl, {
      animation: false,
      tooltip: { trigger: "item", formatter: function (p) {
        if (!p.value || p.value.length < 5) return "";
        var v = p.value, info = levelInfo[v[4]] || {};
        return "<b>" + esc(v[2]) + "</b> " + esc(v[3]) + "<br>" + esc(info.label) + (v[5] == null ? "" : " · 累计 " + num(v[5]) + " " + esc(v[6]));
      } },
      grid: grid,  // the legend is the page's (it wraps on a phone)
      xAxis: { type: "value", min: +(cx - span * w / 2).toFixed(1), max: +(cx + span * w / 2).toFixed(1),
               splitLine: { lineStyle: { type: "dashed", color: "#eef2f7" } },
               axisLabel: { fontSize: 10, showMinLabel: false, showMaxLabel: false, formatter: "{value} m" } },
      yAxis: { type: "value", min: +(cy - span * h / 2).toFixed(1), max: +(cy + span * h / 2).toFixed(1),
               splitLine: { lineStyle: { type: "dashed", color: "#eef2f7" } },
               axisLabel: { fontSize: 10, showMinLabel: false, showMaxLabel: false } },
      series: series
    });
    planChart.on("click", function (p) {
      if (p.seriesType !== "scatter" || !picker) return;
      picker.value = p.value[2];
      drawCurve(picker.value);
      if (narrow) document.getElementById("curves").scrollIntoView({ behavior: "smooth" });
    });
  }

  // ------------------------------------------------------------ inclinometer profiles
  var profiles = data("profiles-data") || {};
  Array.prototype.forEach.call(document.querySelectorAll("[data-profile]"), function (el) {
    var p = profiles[el.getAttribute("data-profile")];
    if (!p) return;
    var n = p.surveys.length;
    var palette = p.surveys.map(function (_, i) {  // older surveys lighter
      var t = n <= 1 ? 1 : i / (n - 1);
      return "rgb(" + Math.round(148 - 119 * t) + "," + Math.round(163 - 85 * t) + "," + Math.round(184 + 32 * t) + ")";
    });
    var marks = p.limit ? [{ xAxis: p.limit }, { xAxis: -p.limit }] : [];
    var reach = p.surveys.reduce(function (m, s) { return s[1].reduce(function (mm, d) { return Math.max(mm, Math.abs(d[0])); }, m); }, p.limit || 1);
    draw(el, {
      animation: false,
      title: { text: p.name, left: 0, top: 0, textStyle: { fontSize: 13 } },  // x axis on top: depth reads downwards
      tooltip: { trigger: "item", formatter: function (q) {
        return esc(q.seriesName) + "<br>深度 " + num(q.value[1], 1) + " m：<b>" + num(q.value[0]) + "</b> mm";
      } },
      legend: { type: "scroll", bottom: 0, textStyle: { fontSize: 10 } },
      grid: { left: 44, right: 34, top: 64, bottom: 40 },
      xAxis: { type: "value", position: "top", name: "mm", nameLocation: "end", nameGap: 6,
               min: -Math.ceil(reach * 1.15), max: Math.ceil(reach * 1.15), splitLine: { lineStyle: { type: "dashed" } } },
      yAxis: { type: "value", name: "深度 m", nameLocation: "start", inverse: true, min: 0, axisLine: { onZero: false }, splitLine: { lineStyle: { type: "dashed" } } },
      series: p.surveys.map(function (s, i) {
        var line = { name: s[0], type: "line", data: s[1], showSymbol: false, lineStyle: { width: i === n - 1 ? 2.5 : 1.2 },
                     itemStyle: { color: palette[i] } };
        if (i === n - 1 && marks.length) {
          line.markLine = { symbol: "none", silent: true, lineStyle: { color: "#dc2626", type: "dashed" },
                            label: { formatter: "预警值", position: "end", color: "#dc2626" }, data: marks };
        }
        return line;
      })
    });
  });

  // ------------------------------------------------------------ the dashboard
  var dash = data("districts-data"), dashEl = document.getElementById("districts-chart");
  if (dash && dashEl && dash.districts.length) {
    var bars = dash.series.map(function (s) {
      return { name: s[1], type: "bar", stack: "colour", barMaxWidth: 28, itemStyle: { color: s[2] }, data: s[3] };
    });
    bars.push({ name: "其中开挖深度 > 12 m", type: "scatter", symbol: "diamond", symbolSize: 11, z: 5,
                itemStyle: { color: "#1e3a8a" }, data: dash.deep });
    draw(dashEl, {
      animation: false,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: function (ps) {
        return esc(ps[0].name) + ps.map(function (p) { return "<br>" + p.marker + esc(p.seriesName) + "：" + p.value; }).join("");
      } },
      legend: { top: 0, textStyle: { fontSize: 11 } },
      grid: { left: 40, right: 12, top: 48, bottom: narrow ? 70 : 50 },
      xAxis: { type: "category", data: dash.districts, axisLabel: { interval: 0, rotate: narrow || dash.districts.length > 8 ? 40 : 0, fontSize: 11 } },
      yAxis: { type: "value", name: "基坑", minInterval: 1 },
      series: bars
    });
  }

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
