/* A pit in 3D (echarts-gl, vendored): the retaining walls along the outline down to the
   design depth (the part already exposed darker), the excavation floor at the current
   depth, the outline at ground level, and the points by level. Metres in the pit's own
   axes, depth downwards (z < 0). Data come with the page (json_script "scene-data"). */
(function () {
  "use strict";
  var el = document.getElementById("scene"), source = document.getElementById("scene-data");
  if (!el || !source || typeof echarts === "undefined") return;
  var s = JSON.parse(source.textContent), esc = window.smartsite.escapeHtml;
  var probe = document.createElement("canvas");
  if (!(probe.getContext("webgl") || probe.getContext("experimental-webgl"))) {
    el.hidden = true;
    document.getElementById("scene-fallback").hidden = false;
    return;
  }
  var corners = s.outline, n = corners.length;
  var H = s.design_depth, D = Math.min(s.depth || 0, H);
  var cx = 0, cy = 0;
  corners.forEach(function (c) { cx += c[0] / n; cy += c[1] / n; });
  function at(u) { return corners[Math.round(u) % n]; }

  // A band of wall between depths top and bottom (m, positive down): u walks the corners,
  // v the two depths, so every quad of the surface is one wall panel.
  function wall(name, top, bottom, colour, opacity) {
    return { type: "surface", name: name, parametric: true, silent: true, shading: "color",
             itemStyle: { color: colour, opacity: opacity },
             wireframe: { show: true, lineStyle: { color: "#334155", width: 1, opacity: 0.6 } },
             parametricEquation: {
               u: { min: 0, max: n, step: 1 }, v: { min: 0, max: 1, step: 1 },
               x: function (u) { return at(u)[0]; }, y: function (u) { return at(u)[1]; },
               z: function (u, v) { return -(top + (bottom - top) * v); } } };
  }
  // A horizontal face of the outline at a depth: a fan from the centroid to the walls.
  function face(name, depth, colour, opacity) {
    return { type: "surface", name: name, parametric: true, silent: true, shading: "color",
             itemStyle: { color: colour, opacity: opacity }, wireframe: { show: false },
             parametricEquation: {
               u: { min: 0, max: n, step: 1 }, v: { min: 0, max: 1, step: 1 },
               x: function (u, v) { return cx + (at(u)[0] - cx) * v; },
               y: function (u, v) { return cy + (at(u)[1] - cy) * v; },
               z: function () { return -depth; } } };
  }

  var xs = corners.map(function (c) { return c[0]; }), ys = corners.map(function (c) { return c[1]; });
  s.points.forEach(function (p) { xs.push(p[0]); ys.push(p[1]); });
  function down(v) { return Math.floor(v / 5) * 5; }
  function up(v) { return Math.ceil(v / 5) * 5; }
  var x0 = down(Math.min.apply(null, xs) - 3), x1 = up(Math.max.apply(null, xs) + 3);
  var y0 = down(Math.min.apply(null, ys) - 3), y1 = up(Math.max.apply(null, ys) + 3);
  var zMin = -Math.max(H, 1) - 2;
  s.points.forEach(function (p) { zMin = Math.min(zMin, p[2] - 1); });
  zMin = down(zMin);
  var scale = 200 / Math.max(x1 - x0, y1 - y0, -zMin);
  var info = {};
  s.levels.forEach(function (l) { info[l[0]] = { label: l[1], colour: l[2] }; });

  var series = [];
  if (D > 0) series.push(wall("已开挖围护", 0, D, "#64748b", 0.85));
  if (H > D) series.push(wall("围护结构（未开挖段）", D, H, "#cbd5e1", 0.35));
  if (D > 0) series.push(face("开挖面", D, "#a16207", 0.9));
  series.push({ type: "line3D", name: "基坑轮廓", silent: true, lineStyle: { color: "#0f172a", width: 3 },
                data: corners.concat([corners[0]]).map(function (c) { return [c[0], c[1], 0]; }) });
  s.levels.forEach(function (l) {
    series.push({ type: "scatter3D", name: l[1], symbolSize: 11,
                  itemStyle: { color: l[2], borderColor: "#fff", borderWidth: 1 },
                  label: { show: s.points.length <= 30, formatter: function (p) { return p.value[3]; },
                           textStyle: { fontSize: 11, color: "#0f172a", backgroundColor: "rgba(255,255,255,0.7)" } },
                  emphasis: { label: { show: true } },
                  data: s.points.filter(function (p) { return p[5] === l[0]; }) });
  });

  var chart = echarts.init(el);
  chart.on("finished", function () { el.setAttribute("data-drawn", "1"); });
  chart.setOption({
    tooltip: { formatter: function (p) {
      var v = p.value; if (!v || v.length < 6) return "";
      return "<b>" + esc(v[3]) + "</b> " + esc(v[4]) + "<br>" + esc((info[v[5]] || {}).label)
        + "<br>x " + (+v[0]).toFixed(1) + " m · y " + (+v[1]).toFixed(1) + " m · 深 " + (-v[2]).toFixed(1) + " m";
    } },
    grid3D: { boxWidth: (x1 - x0) * scale, boxDepth: (y1 - y0) * scale, boxHeight: -zMin * scale,
              viewControl: { alpha: 28, beta: 35, distance: 260 }, light: { main: { intensity: 1.1 }, ambient: { intensity: 0.5 } },
              axisPointer: { show: false } },
    xAxis3D: { type: "value", name: "x (m)", min: x0, max: x1 },
    yAxis3D: { type: "value", name: "y (m)", min: y0, max: y1 },
    zAxis3D: { type: "value", name: "深度 (m)", min: zMin, max: 0 },
    series: series
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
