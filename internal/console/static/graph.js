// Draws the automation graph laid out by dagre, with each node's counts,
// and lists a node's runs when it is clicked. Everything it loads comes
// from the starter; nothing from elsewhere.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("graph-data").textContent);
  var SVG = "http://www.w3.org/2000/svg";
  var W = 210, H = 84;

  function el(name, attrs, parent) {
    var e = document.createElementNS(SVG, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, x, y, s, cls) {
    var t = el("text", { x: x, y: y, "class": cls || "" }, parent);
    t.textContent = s;
    return t;
  }
  function clip(s, n) { return s.length > n ? s.slice(0, n - 1) + "…" : s; }

  var g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "TB", nodesep: 40, ranksep: 56, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(function () { return {}; });
  data.nodes.forEach(function (n) { g.setNode(n.id, { width: W, height: H, node: n }); });
  data.edges.forEach(function (e, i) {
    if (g.hasNode(e.source) && g.hasNode(e.target)) {
      g.setEdge(e.source, e.target, { handle: e.handle || "", width: e.handle ? 60 : 0, height: e.handle ? 18 : 0, labelpos: "c" }, "e" + i);
    }
  });
  dagre.layout(g);

  var box = document.getElementById("graph");
  var gg = g.graph();
  var svg = el("svg", { width: gg.width, height: gg.height, viewBox: "0 0 " + gg.width + " " + gg.height, role: "img", "aria-label": "automation graph" }, box);
  var defs = el("defs", {}, svg);
  var m = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, defs);
  el("path", { d: "M 0 0 L 10 5 L 0 10 z", "class": "arrowhead" }, m);

  g.edges().forEach(function (ek) {
    var e = g.edge(ek);
    var d = e.points.map(function (p, i) { return (i ? "L" : "M") + p.x + " " + p.y; }).join(" ");
    el("path", { d: d, "class": "edge", "marker-end": "url(#arrow)" }, svg);
    if (e.handle) {
      var lg = el("g", { "class": "edge-label" }, svg);
      el("rect", { x: e.x - 30, y: e.y - 9, width: 60, height: 18, rx: 9 }, lg);
      text(lg, e.x, e.y + 4, e.handle, "handle");
    }
  });

  var stats = data.stats.nodes || {};
  g.nodes().forEach(function (id) {
    var v = g.node(id), n = v.node, s = stats[id] || { waiting: 0, passed: 0, failed: 0 };
    var x = v.x - W / 2, y = v.y - H / 2;
    var ng = el("g", { "class": "node cat-" + n.category + (s.failed ? " has-failed" : ""), "data-node": id,
      "data-waiting": s.waiting, "data-passed": s.passed, "data-failed": s.failed, tabindex: 0 }, svg);
    el("rect", { x: x, y: y, width: W, height: H, rx: 8, "class": "box" }, ng);
    text(ng, x + 12, y + 22, clip(n.label, 26), "label");
    text(ng, x + 12, y + 39, n.type + " · " + clip(id, 16), "type");
    var badges = [["waiting", s.waiting], ["passed", s.passed], ["failed", s.failed]];
    badges.forEach(function (b, i) {
      var bx = x + 10 + i * 66, by = y + H - 28;
      var bg = el("g", { "class": "badge " + b[0] + (b[1] ? "" : " zero") }, ng);
      el("rect", { x: bx, y: by, width: 60, height: 20, rx: 10 }, bg);
      text(bg, bx + 30, by + 14, b[1] + " " + b[0], "count");
    });
    ng.addEventListener("click", function () { showRuns(id, n.label); });
    ng.addEventListener("keydown", function (ev) { if (ev.key === "Enter") showRuns(id, n.label); });
  });

  function section(parent, title, runs, withError) {
    var h = document.createElement("h3");
    h.textContent = title + " (" + runs.length + ")";
    parent.appendChild(h);
    if (!runs.length) return;
    var ul = document.createElement("ul");
    runs.forEach(function (r) {
      var li = document.createElement("li");
      var lead = document.createElement("a");
      lead.href = "/console/leads/" + encodeURIComponent(r.leadId);
      lead.textContent = "lead " + r.leadId;
      li.appendChild(lead);
      li.appendChild(document.createTextNode(" · started " + r.startedAt.replace("T", " ").slice(0, 19) + " · "));
      var ui = document.createElement("a");
      ui.href = r.runUrl; ui.target = "_blank"; ui.rel = "noopener";
      ui.textContent = "Temporal Web UI";
      ui.className = "run-link";
      li.appendChild(ui);
      if (withError && r.error) {
        var e = document.createElement("div");
        e.className = "error"; e.textContent = r.error;
        li.appendChild(e);
      }
      ul.appendChild(li);
    });
    parent.appendChild(ul);
  }

  function showRuns(id, label) {
    var out = document.getElementById("node-runs");
    out.hidden = false;
    out.textContent = "Loading…";
    var url = "/console/data/automation/" + encodeURIComponent(data.id) + "/nodes/" + encodeURIComponent(id) + "/runs?since=" + encodeURIComponent(data.since.replace(/\.\d+Z$/, "Z"));
    fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    }).then(function (nr) {
      out.textContent = "";
      out.dataset.node = id;
      var h = document.createElement("h2");
      h.textContent = "Runs at " + label + " (" + id + ")";
      out.appendChild(h);
      section(out, "Waiting now", nr.waiting, false);
      section(out, "Passed", nr.passed, false);
      section(out, "Failed here", nr.failed, true);
    }).catch(function (err) { out.textContent = "Could not load the runs: " + err.message; });
  }
})();
