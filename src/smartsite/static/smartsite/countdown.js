// Keeps "剩余 / 逾期" deadline labels current without reloading the page.
(function () {
  function span(ms) {
    var m = Math.max(1, Math.floor(Math.abs(ms) / 60000)), d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60), mm = m % 60;
    if (d) return d + "天" + (h ? h + "小时" : "");
    if (h) return h + "小时" + (mm && h < 3 ? mm + "分钟" : "");
    return m + "分钟";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".due[data-due]").forEach(function (el) {
      var left = Date.parse(el.dataset.due) - now;
      el.textContent = (left < 0 ? "逾期 " : "剩余 ") + span(left);
      el.classList.toggle("late", left < 0);
      el.classList.toggle("soon", left >= 0 && left <= 864e5);
    });
  }
  setInterval(tick, 30000);
})();
