// Refuses an upload that the server would refuse for its size before it is sent, so a phone
// user keeps what they typed (the server still checks: this only saves a round trip).
(function () {
  var limit = Number(document.body.dataset.maxUpload || 0);
  if (!limit) return;
  document.addEventListener("submit", function (event) {
    var form = event.target, total = 0;
    form.querySelectorAll("input[type=file]").forEach(function (input) {
      Array.prototype.forEach.call(input.files || [], function (f) { total += f.size; });
    });
    var old = form.querySelector(".upload-error");
    if (old) old.remove();
    if (total <= limit) return;
    event.preventDefault();
    var note = document.createElement("p");
    note.className = "error upload-error";
    note.setAttribute("role", "alert");
    note.textContent = "所选附件共 " + (total / 1048576).toFixed(1) + " MB，超过 " +
      Math.round(limit / 1048576) + " MB 上限：请减少张数或压缩后再提交（已填写的内容保留）";
    form.appendChild(note);
  }, true);
})();
