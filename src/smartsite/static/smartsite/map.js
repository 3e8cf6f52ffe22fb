/* Offline maps: district boundaries (WGS-84 GeoJSON served by us) drawn with ECharts. */
(function () {
  "use strict";
  function loadDistricts(url) {
    return fetch(url, {credentials: "same-origin"}).then(function (r) { return r.json(); });
  }
  function extent(coords) {  // [[x0, y0], [x1, y1]] of any nesting of [lon, lat] pairs
    var box = [[Infinity, Infinity], [-Infinity, -Infinity]];
    (function walk(c) {
      if (typeof c[0] === "number") {
        box[0][0] = Math.min(box[0][0], c[0]); box[0][1] = Math.min(box[0][1], c[1]);
        box[1][0] = Math.max(box[1][0], c[0]); box[1][1] = Math.max(box[1][1], c[1]);
      } else { c.forEach(walk); }
    })(coords);
    return box;
  }
  // A user who sees part of the city (a district, a street, a company's sites) gets the map
  // framed on their projects, with a margin; the city sees all of Shanghai.
  // data-min-span (degrees, default 0.04): the smallest area a fit shows (one site: its surroundings).
  function fitTo(points, districts, minSpan) {
    if (!points.length) { return {}; }
    var all = extent(districts.features.map(function (f) { return f.geometry.coordinates; }));
    var box = extent(points.map(function (p) { return [p[0], p[1]]; }));
    var w = Math.max(box[1][0] - box[0][0], minSpan), h = Math.max(box[1][1] - box[0][1], minSpan);
    var zoom = 0.8 * Math.min((all[1][0] - all[0][0]) / w, (all[1][1] - all[0][1]) / h);
    return {center: [(box[0][0] + box[1][0]) / 2, (box[0][1] + box[1][1]) / 2], zoom: Math.max(1, zoom)};
  }
  function overview(el) {
    var statuses = JSON.parse(el.dataset.statuses || "[]");
    // Where a click on a point goes ("{id}" is the point's id) and how big points are drawn.
    var link = el.dataset.link || "/projects/{id}/", size = Number(el.dataset.symbolSize || 8);
    Promise.all([loadDistricts(el.dataset.districts),
                 fetch(el.dataset.points, {credentials: "same-origin"}).then(function (r) { return r.json(); })])
      .then(function (res) {
        echarts.registerMap("shanghai", res[0]);
        var chart = echarts.init(el);
        // "ready" once drawn (after the entry animation), so screenshots show the points.
        chart.on("finished", function () { el.dataset.ready = String(res[1].points.length); });
        var series = statuses.filter(function (s) {  // data-hide-empty: no legend for absent states
          return !el.dataset.hideEmpty || res[1].points.some(function (p) { return p[4] === s[0]; });
        }).map(function (s) {
          return {
            name: s[1], type: "scatter", coordinateSystem: "geo", symbolSize: size,
            itemStyle: {color: s[2]},
            data: res[1].points.filter(function (p) { return p[4] === s[0]; })
              .map(function (p) { return {name: p[3], value: [p[0], p[1]], id: p[2]}; })
          };
        });
        chart.setOption({
          tooltip: {trigger: "item", formatter: function (p) {  // HTML: stored names escaped
            var esc = smartsite.escapeHtml;
            return p.seriesType === "scatter" ? esc(p.name) + "（" + esc(p.seriesName) + "）" : esc(p.name);
          }},
          legend: el.dataset.legend === "off" ? {show: false} : {top: 0, left: 0},  // data-legend="off": the page has its own
          geo: Object.assign({map: "shanghai", roam: true, aspectScale: 0.86, label: {show: true, fontSize: 10, color: "#475569"},
                itemStyle: {areaColor: "#eef2ff", borderColor: "#94a3b8"}, emphasis: {itemStyle: {areaColor: "#dbeafe"}}},
                el.dataset.fit ? fitTo(res[1].points, res[0], Number(el.dataset.minSpan || 0.04)) : {}),
          series: series
        });
        chart.on("click", function (p) { if (p.data && p.data.id) { window.location = link.replace("{id}", p.data.id); } });
        window.addEventListener("resize", function () { chart.resize(); });

      });
  }
  function fence(el) {
    var shape = JSON.parse(document.getElementById("fence-data").textContent);
    loadDistricts(el.dataset.districts).then(function (districts) {
      var features = districts.features.concat([{type: "Feature", properties: {name: "电子围栏"}, geometry: shape}]);
      echarts.registerMap("fence", {type: "FeatureCollection", features: features});
      var ring = shape.type === "Polygon" ? shape.coordinates[0] : shape.coordinates[0][0];
      var xs = ring.map(function (c) { return c[0]; }), ys = ring.map(function (c) { return c[1]; });
      var cx = (Math.min.apply(null, xs) + Math.max.apply(null, xs)) / 2, cy = (Math.min.apply(null, ys) + Math.max.apply(null, ys)) / 2;
      var span = Math.max(Math.max.apply(null, xs) - Math.min.apply(null, xs), Math.max.apply(null, ys) - Math.min.apply(null, ys), 0.001);
      var chart = echarts.init(el);
      chart.on("finished", function () { el.dataset.ready = "1"; });
      chart.setOption({
        tooltip: {},
        geo: {map: "fence", roam: true, center: [cx, cy], zoom: Math.min(400, 0.25 / span), aspectScale: 0.86,
              itemStyle: {areaColor: "#f1f5f9", borderColor: "#94a3b8"},
              regions: [{name: "电子围栏", itemStyle: {areaColor: "rgba(29,78,216,.35)", borderColor: "#1d4ed8", borderWidth: 2}}]},
        series: []
      });
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var m = document.getElementById("map"); if (m) { overview(m); }
    var f = document.getElementById("fence"); if (f) { fence(f); }
  });
})();
