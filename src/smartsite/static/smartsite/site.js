/* Loaded first on every page (base.html): what the other scripts share, and the page
   behaviours that used to be inline handlers (the Content-Security-Policy allows no inline
   script: settings.CONTENT_SECURITY_POLICY, docs/operations.md). */
(function () {
  "use strict";
  var smartsite = window.smartsite = window.smartsite || {};
  var ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

  /* The one way a value reaches HTML in our JavaScript: an ECharts tooltip formatter's
     return value is HTML, so every stored text in it (project, monitor, device names …) goes
     through here. null/undefined become "". */
  smartsite.escapeHtml = function (value) {
    return value == null ? "" : String(value).replace(/[&<>"']/g, function (c) { return ENTITIES[c]; });
  };

  /* <form data-confirm="…">: ask before submitting (e.g. a delete). */
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); event.stopImmediatePropagation(); }
  }, true);

  /* <a data-back href="…">: back in history when there is one, else the link's own target. */
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-back]");
    if (link && window.history.length > 1) { event.preventDefault(); window.history.back(); }
  });
})();
