// The request form: show only the chosen login provider's fields and the
// event dates for events, and narrow the clusters to those the tier runs on.
// Without this script every field shows and the server still checks it all.
(function () {
  "use strict";
  const form = document.getElementById("request-form");
  if (!form) return;
  const tiers = JSON.parse(document.getElementById("tier-clusters").textContent);
  const provider = form.elements.auth_provider;
  const purpose = form.elements.purpose;
  const offering = form.elements.offering;
  const cluster = form.elements.cluster;

  function showProvider() {
    form.querySelectorAll("[data-provider]").forEach(function (el) {
      el.hidden = el.dataset.provider !== provider.value;
    });
  }
  function showEvent() {
    document.getElementById("event-fields").hidden = purpose.value !== "event";
  }
  function narrowClusters() {
    const allowed = tiers[offering.value];
    Array.from(cluster.options).forEach(function (option) {
      const ok = !option.value || !allowed || allowed.indexOf(option.value) !== -1;
      option.hidden = !ok;
      option.disabled = !ok;
    });
    if (cluster.selectedOptions.length && cluster.selectedOptions[0].disabled) cluster.value = "";
  }
  provider.addEventListener("change", showProvider);
  purpose.addEventListener("change", showEvent);
  offering.addEventListener("change", narrowClusters);
  showProvider();
  showEvent();
  narrowClusters();
  const errors = document.getElementById("form-errors");
  if (errors) errors.focus();
})();
