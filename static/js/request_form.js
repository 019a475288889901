// The request form: show only the chosen login provider's fields and the
// event dates for events, narrow the clusters to those the tier runs on, and
// estimate each tier for the expected users.
// Without this script every field shows and the server still checks it all.
(function () {
  "use strict";
  const form = document.getElementById("request-form");
  if (!form) return;
  const tiers = JSON.parse(document.getElementById("tier-clusters").textContent);
  const costs = JSON.parse(document.getElementById("tier-costs").textContent);
  const provider = form.elements.auth_provider;
  const purpose = form.elements.purpose;
  const cluster = form.elements.cluster;
  const users = form.elements.expected_users;

  function chosenTier() {
    const checked = form.querySelector("input[name=offering]:checked");
    return checked ? checked.value : "";
  }
  function showProvider() {
    form.querySelectorAll("[data-provider]").forEach(function (el) {
      el.hidden = el.dataset.provider !== provider.value;
    });
  }
  function showEvent() {
    document.getElementById("event-fields").hidden = purpose.value !== "event";
  }
  function narrowClusters() {
    if (!cluster || cluster.disabled) return;
    const allowed = tiers[chosenTier()];
    Array.from(cluster.options).forEach(function (option) {
      const ok = !option.value || !allowed || allowed.indexOf(option.value) !== -1;
      option.hidden = !ok;
      option.disabled = !ok;
    });
    if (cluster.selectedOptions.length && cluster.selectedOptions[0].disabled) cluster.value = "";
  }
  function money(value) {
    return "$" + value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }
  function estimate() {
    const count = parseInt(users && users.value, 10);
    form.querySelectorAll(".tier-estimate").forEach(function (el) {
      const tier = costs[el.dataset.tier];
      if (!tier || !(count > 0)) {
        el.textContent = "";
        return;
      }
      if (count > tier.max_users) {
        el.textContent = "More than this tier's " + tier.max_users + " users.";
        return;
      }
      // hubs/describe.py's estimate: the fee plus the expected user-hours at the tier's rate.
      const total = tier.fee + (tier.rate || 0) * (tier.hours || 0) * count;
      const fee = total > 0 ? money(total / count) + " per user a month" : "free";
      const about = tier.rate > 0 ? " (about " + money(total) + " a month with " + tier.hours +
        " server-hours per user)" : "";
      const cpu = Math.round(tier.cpu * count * 10) / 10;
      const memory = Math.round(tier.memory_gb * count);
      el.textContent = "For " + count + " users: " + fee + about + "; with everyone on, " + cpu +
        " CPUs and " + memory + " GB of memory guaranteed.";
    });
  }
  provider.addEventListener("change", showProvider);
  purpose.addEventListener("change", showEvent);
  form.addEventListener("change", function (event) {
    if (event.target.name === "offering") narrowClusters();
  });
  if (users) users.addEventListener("input", estimate);
  showProvider();
  showEvent();
  narrowClusters();
  estimate();
  const focus = document.getElementById("request-preview") || document.getElementById("form-errors");
  if (focus) focus.focus();
})();
