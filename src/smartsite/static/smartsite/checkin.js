/* The phone check-in page (attendance/checkin.html): the browser's position with its accuracy,
   a live camera frame (getUserMedia → canvas → JPEG blob), a client-generated id per check-in,
   posted as multipart to /api/v1/attendance/checkins. No inline script (CSP). */
(function () {
  "use strict";
  var form = document.getElementById("checkin");
  if (!form) return;
  var video = document.getElementById("camera");
  var canvas = document.getElementById("shot");
  var where = document.getElementById("position");
  var result = document.getElementById("result");
  var buttons = form.querySelectorAll("button[data-direction]");
  var fix = null;
  var cameraReady = false;
  var busy = false;

  function csrf() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16); crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function enable() {
    var ok = fix && cameraReady && !busy;
    buttons.forEach(function (b) { b.disabled = !ok; });
  }
  function show(cls, text, reasons) {
    result.textContent = "";
    var p = document.createElement("p");
    p.className = cls; p.textContent = text;
    result.appendChild(p);
    (reasons || []).forEach(function (r) {
      var li = document.createElement("p");
      li.className = "reason"; li.textContent = "· " + r.message;
      result.appendChild(li);
    });
  }

  // Position: the W3C Geolocation API reports WGS-84, with its accuracy in metres.
  if (!navigator.geolocation) {
    where.textContent = "此浏览器不支持定位，无法打卡";
  } else {
    navigator.geolocation.watchPosition(function (pos) {
      fix = {lng: pos.coords.longitude, lat: pos.coords.latitude, accuracy: pos.coords.accuracy,
             time: new Date(pos.timestamp || Date.now())};
      where.textContent = "已定位：" + fix.lat.toFixed(6) + ", " + fix.lng.toFixed(6) +
        "（精度约 " + Math.round(fix.accuracy) + " 米）";
      where.dataset.ready = "1";
      enable();
    }, function (err) {
      where.textContent = "无法获取位置：" + (err.code === 1 ? "请允许浏览器使用定位" : err.message);
    }, {enableHighAccuracy: true, maximumAge: 10000, timeout: 30000});
  }

  // Camera: a live frame only (no file picker: a photo from the album is not a live check-in).
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    show("bad", "此浏览器无法使用摄像头，无法打卡");
  } else {
    navigator.mediaDevices.getUserMedia({video: {facingMode: "user", width: {ideal: 640},
                                                  height: {ideal: 480}}, audio: false})
      .then(function (stream) {
        video.srcObject = stream;
        video.onloadedmetadata = function () { cameraReady = true; video.dataset.ready = "1"; enable(); };
      })
      .catch(function (err) { show("bad", "无法打开摄像头：" + (err.name === "NotAllowedError" ? "请允许使用摄像头" : err.message)); });
  }

  function snapshot() {
    var w = video.videoWidth, h = video.videoHeight, scale = Math.min(1, 640 / Math.max(w, h));
    canvas.width = Math.round(w * scale); canvas.height = Math.round(h * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", 0.9); });
  }

  function send(direction) {
    busy = true; enable();
    show("muted", "正在提交…");
    var clientId = uuid();
    snapshot().then(function (blob) {
      var body = new FormData();
      body.append("photo", blob, "checkin.jpg");
      body.append("project", form.querySelector("#project").value);
      body.append("client_id", clientId);
      body.append("direction", direction);
      body.append("lng", String(fix.lng));
      body.append("lat", String(fix.lat));
      body.append("datum", "wgs84");
      body.append("accuracy_m", String(fix.accuracy));
      body.append("device_time", new Date().toISOString());
      body.append("device_id", navigator.userAgent.slice(0, 100));
      return fetch(form.dataset.api, {method: "POST", body: body, credentials: "same-origin",
                                      headers: {"X-CSRFToken": csrf(), Accept: "application/json"}});
    }).then(function (response) {
      return response.json().then(function (data) { return {status: response.status, data: data}; });
    }).then(function (r) {
      var d = r.data;
      if (r.status === 200 || r.status === 201) {
        var text = {accepted: "打卡成功（有效）", review: "已提交，待人工复核", rejected: "打卡无效"}[d.outcome];
        show({accepted: "ok", review: "warn", rejected: "bad"}[d.outcome], text, d.reasons);
        result.dataset.outcome = d.outcome;
        addRecent(d);
      } else {
        show("bad", d.message || "提交失败（" + r.status + "）");
        result.dataset.outcome = "error";
      }
    }).catch(function () {
      show("bad", "网络异常，请稍后重试");
    }).then(function () { busy = false; enable(); });
  }

  function addRecent(d) {
    var list = document.getElementById("recent"), empty = document.getElementById("recent-empty");
    if (empty) empty.remove();
    var li = document.createElement("li");
    var badge = document.createElement("span");
    badge.className = "badge outcome-" + d.outcome; badge.textContent = d.outcome_display;
    li.appendChild(badge);
    var time = new Date(d.at).toLocaleTimeString("zh-CN", {timeZone: "Asia/Shanghai", hour12: false,
                                                           hour: "2-digit", minute: "2-digit"});
    li.appendChild(document.createTextNode(" " + time + " " + (d.direction === "entry" ? "进场" : "离场")));
    list.insertBefore(li, list.firstChild);
  }

  buttons.forEach(function (b) {
    b.addEventListener("click", function () { if (!busy && fix && cameraReady) send(b.dataset.direction); });
  });
})();
