/* Draws the co-author network into each element with data-network="ID" from the JSON block #ID:
   {"nodes": [{"id", "label", "href", "group"?, "value"?}], "edges": [{"from", "to", "value"?}]}.
   Clicking a node opens its page. Labels are drawn on a canvas, never inserted as HTML. */
(function () {
  "use strict";
  if (!window.vis || !window.vis.Network) { return; }
  var groups = {
    self: { color: { background: "#24529b", border: "#173a70" }, font: { color: "#1d2733", size: 16, bold: true } },
    person: { color: { background: "#8fb0e0", border: "#24529b" } },
    team: { shape: "box", color: { background: "#f3d9a4", border: "#b07a12" } }
  };

  function draw(container) {
    var block = document.getElementById(container.getAttribute("data-network"));
    if (!block) { return; }
    var data = JSON.parse(block.textContent);
    var hrefs = {};
    data.nodes.forEach(function (node) { hrefs[node.id] = node.href; });
    var network = new window.vis.Network(container, { nodes: data.nodes, edges: data.edges }, {
      nodes: { shape: "dot", size: 12, font: { face: "system-ui, sans-serif", size: 13 }, borderWidth: 1 },
      edges: { color: { color: "#b7c2d0", highlight: "#24529b" }, smooth: false, scaling: { min: 1, max: 6 } },
      groups: groups,
      physics: { solver: "forceAtlas2Based", stabilization: { iterations: 200 } },
      interaction: { hover: true, tooltipDelay: 150 }
    });
    network.once("stabilizationIterationsDone", function () {
      network.setOptions({ physics: false });
      network.fit();
    });
    network.on("click", function (event) {
      var id = event.nodes && event.nodes[0];
      if (id !== undefined && hrefs[id] && hrefs[id].charAt(0) !== "#") { window.location.href = hrefs[id]; }
    });
    network.on("hoverNode", function () { container.style.cursor = "pointer"; });
    network.on("blurNode", function () { container.style.cursor = "default"; });
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-network]"), draw);
})();
