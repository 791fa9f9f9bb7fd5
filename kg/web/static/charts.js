/* Draws a Chart.js chart into each <canvas data-chart="ID"> from the JSON block #ID:
   {"type": "bar"|"doughnut", "label": str, "labels": [str], "values": [str|number]}. */
(function () {
  "use strict";
  if (!window.Chart) { return; }
  var palette = ["#24529b", "#2f9e8f", "#e0a030", "#c4504a", "#7a5bb5", "#4a90c4", "#8aa339", "#b5637f",
                 "#5d6b7a", "#d07c2e", "#3aa0a9", "#9a8a3c"];
  var ink = getComputedStyle(document.body).color;

  function options(kind) {
    var common = { responsive: true, maintainAspectRatio: false, animation: false,
                   plugins: { legend: { display: kind === "doughnut", position: "right", labels: { color: ink } } } };
    if (kind === "bar") {
      common.scales = { y: { beginAtZero: true, ticks: { precision: 0, color: ink } }, x: { ticks: { color: ink } } };
    }
    return common;
  }

  function draw(canvas) {
    var block = document.getElementById(canvas.getAttribute("data-chart"));
    if (!block) { return; }
    var data = JSON.parse(block.textContent);
    var kind = data.type === "doughnut" ? "doughnut" : "bar";
    var colors = kind === "bar" ? palette[0] : data.labels.map(function (_, i) { return palette[i % palette.length]; });
    new window.Chart(canvas, {
      type: kind,
      data: { labels: data.labels, datasets: [{ label: data.label, data: data.values.map(Number), backgroundColor: colors,
                                                borderWidth: kind === "bar" ? 0 : 1 }] },
      options: options(kind)
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("canvas[data-chart]"), draw);
})();
