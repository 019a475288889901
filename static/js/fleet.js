// The fleet page's chart (templates/monitoring/fleet.html): hubs by users in the last
// 30 days, from the json_script element "fleet-data".
(function () {
  "use strict";
  const source = document.getElementById("fleet-data");
  const canvas = document.getElementById("fleet-chart");
  if (!source || !canvas || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [{ label: "Users (30 days)", data: data.monthly_users, backgroundColor: "#0d6efd" }],
    },
    options: {
      indexAxis: "y",
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  });
})();
