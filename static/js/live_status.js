// Live status fragments (provisioning/web/live.py): htmx swaps a fresh copy of
// a page's status in every few seconds while work is in progress. A <details>
// marked data-keep-open (the full log, a commit's diff) stays open across
// those swaps instead of snapping shut under the reader.
(function () {
  "use strict";
  const open = new Set();
  document.body.addEventListener("htmx:beforeSwap", function () {
    open.clear();
    document.querySelectorAll("details[data-keep-open][open]").forEach(function (el) {
      if (el.id) open.add(el.id);
    });
  });
  document.body.addEventListener("htmx:afterSwap", function () {
    open.forEach(function (id) {
      const el = document.getElementById(id);
      if (el) el.open = true;
    });
  });
})();
