/* Camera pages: HLS players (hls.js, or the browser's own HLS) and the PTZ pad.
   A player first asks for its playlist itself, so a refusal (camera offline, wrong password,
   ffmpeg missing) shows the server's Chinese message instead of a silent black box. */
(function () {
  "use strict";

  function csrf() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  function say(el, text, bad) {
    if (!el) return;
    el.textContent = text;
    el.classList.toggle("alert", !!bad);
    el.classList.toggle("muted", !bad);
  }

  function attach(video) {
    var src = video.dataset.hls;
    var status = document.getElementById(video.dataset.status);
    var live = video.dataset.live === "1";
    say(status, live ? "正在连接摄像头…（首次打开需几秒）" : "正在加载录像…");
    fetch(src, {credentials: "same-origin", headers: {Accept: "application/vnd.apple.mpegurl, application/json"}})
      .then(function (r) {
        if (r.ok) return start();
        return r.json().then(function (body) { say(status, body.message || ("无法播放（" + r.status + "）"), true); },
                             function () { say(status, "无法播放（" + r.status + "）", true); });
      }, function () { say(status, "网络错误，无法加载视频", true); });

    function start() {
      video.addEventListener("playing", function () { say(status, live ? "实时画面" : "正在回放"); });
      if (window.Hls && window.Hls.isSupported()) {
        var hls = new window.Hls({liveSyncDurationCount: 2, lowLatencyMode: false});
        hls.on(window.Hls.Events.ERROR, function (_e, data) {
          if (!data.fatal) return;
          if (data.type === window.Hls.ErrorTypes.NETWORK_ERROR && live) {
            say(status, "视频中断，正在重新连接…", true);
            setTimeout(function () { hls.loadSource(src); }, 3000);
          } else if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) {
            hls.recoverMediaError();
          } else {
            say(status, "无法播放该视频（" + data.details + "）", true);
          }
        });
        hls.loadSource(src);
        hls.attachMedia(video);
      } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
        video.src = src;
      } else {
        say(status, "此浏览器不支持 HLS 视频播放", true);
        return;
      }
      var p = video.play();
      if (p && p.catch) p.catch(function () {});
    }
  }

  document.querySelectorAll("video[data-hls]").forEach(attach);

  var pad = document.getElementById("ptz");
  if (!pad) return;
  var status = document.getElementById("ptz-status");
  var moving = false;

  function send(data) {
    var body = new URLSearchParams(data);
    return fetch(pad.dataset.url, {method: "POST", credentials: "same-origin", body: body,
                                   headers: {"X-CSRFToken": csrf(), Accept: "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (res) { say(status, res.message, !res.ok); return res; },
            function () { say(status, "网络错误，云台指令未发出", true); });
  }

  pad.querySelectorAll("button[data-pan], button[data-tilt], button[data-zoom]").forEach(function (b) {
    b.addEventListener("pointerdown", function (ev) {
      ev.preventDefault();
      moving = true;
      send({action: "move", pan: b.dataset.pan || 0, tilt: b.dataset.tilt || 0, zoom: b.dataset.zoom || 0});
    });
    ["pointerup", "pointerleave", "pointercancel"].forEach(function (name) {
      b.addEventListener(name, function () {
        if (!moving) return;
        moving = false;
        send({action: "stop"});
      });
    });
  });
  var stop = pad.querySelector("button[data-action=stop]");
  if (stop) stop.addEventListener("click", function () { send({action: "stop"}); });
})();
