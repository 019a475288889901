// The hub page's monitoring charts (templates/monitoring/hub_panel.html): daily active
// users with peak concurrent servers, and uptime per day. The data comes from the
// page's json_script element "monitoring-data"; Chart.js from npm (vendor/chart.js).
(function () {
  "use strict";
  const source = document.getElementById("monitoring-data");
  if (!source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const common = {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    interaction: { mode: "index", intersect: false },
    scales: { x: { ticks: { maxTicksLimit: 10 } } },
  };
  const usage = document.getElementById("usage-chart");
  if (usage) {
    new Chart(usage, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: [
          { label: "Daily active users", data: data.active_users, borderColor: "#0d6efd", pointRadius: 0 },
          { label: "Peak concurrent servers", data: data.peak_servers, borderColor: "#fd7e14", pointRadius: 0 },
        ],
      },
      options: Object.assign({}, common, {
        scales: { x: common.scales.x, y: { beginAtZero: true, ticks: { precision: 0 } } },
      }),
    });
  }
  const uptime = document.getElementById("uptime-chart");
  if (uptime) {
    new Chart(uptime, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [{ label: "Uptime %", data: data.uptime, backgroundColor: "#198754" }],
      },
      options: Object.assign({}, common, {
        scales: { x: common.scales.x, y: { min: 0, max: 100 } },
      }),
    });
  }
})();
