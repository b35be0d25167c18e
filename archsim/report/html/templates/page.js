// archsim page script: sortable tables, the JSON download, and the plots (plotly.js, inlined compressed).
// It computes no number: tables sort by the values written into them, plots draw the series given.
(function () {
  "use strict";
  var root = document.documentElement;

  // A cell sorts by its data-sort value, or (when it has none) by its text: a number when it reads as one.
  function sortValue(td) {
    var raw = td.getAttribute("data-sort");
    if (raw === null) {
      raw = td.textContent.trim();
      if (raw === "-") return { empty: true };
      var shown = Number(raw.replace(/,/g, ""));
      if (raw !== "" && !isNaN(shown)) return { number: shown };
    }
    if (raw === "") return { empty: true };
    var n = Number(raw);
    return isNaN(n) ? { text: raw.toLowerCase() } : { number: n };
  }

  function compare(a, b) {
    if (a.empty || b.empty) return (a.empty ? 1 : 0) - (b.empty ? 1 : 0);
    if (a.number !== undefined && b.number !== undefined) return a.number - b.number;
    var x = a.text !== undefined ? a.text : String(a.number), y = b.text !== undefined ? b.text : String(b.number);
    return x < y ? -1 : x > y ? 1 : 0;
  }

  function sortBy(table, th, col) {
    var body = table.tBodies[0];
    var dir = th.getAttribute("aria-sort") === "descending" ? 1 : -1;  // first click: largest first
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (r1, r2) {
      var a = sortValue(r1.cells[col]), b = sortValue(r2.cells[col]);
      if (a.empty || b.empty) return compare(a, b);  // empty cells last either way
      return dir * compare(a, b);
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.addEventListener("click", function () { sortBy(table, th, col); });
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") sortBy(table, th, col); });
    });
  });

  var download = document.getElementById("download-json");
  if (download) {
    download.addEventListener("click", function () {
      var text = document.getElementById("archsim-data").textContent;
      var url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
      var a = document.createElement("a");
      a.href = url;
      a.download = (document.body.getAttribute("data-kind") || "archsim") + "-result.json";
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
    });
  }

  var figures = JSON.parse(document.getElementById("archsim-figures").textContent);
  var BASE_LAYOUT = {
    margin: { l: 64, r: 20, t: 48, b: 56 }, font: { size: 12, family: "system-ui, sans-serif" },
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#fff", hoverlabel: { namelength: -1 },
    legend: { orientation: "h", yref: "container", y: 0, yanchor: "bottom" }
  };
  var CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

  function merged(base, extra) {
    var out = {}, k;
    for (k in base) out[k] = base[k];
    for (k in extra) out[k] = extra[k];
    return out;
  }

  function draw() {
    var divs = document.querySelectorAll("div.plot[data-fig]");
    var jobs = Array.prototype.map.call(divs, function (div) {
      var spec = figures[div.getAttribute("data-fig")];
      div.innerHTML = "";
      var narrow = window.innerWidth < 600;
      var layout = merged(BASE_LAYOUT, spec.layout || {});
      if (narrow) layout.margin = { l: 48, r: 8, t: 56, b: 48 };
      return window.Plotly.newPlot(div, spec.data, layout, CONFIG);
    });
    return Promise.all(jobs);
  }

  function failed(message) {
    document.querySelectorAll("div.plot .loading").forEach(function (p) { p.textContent = message; });
    root.setAttribute("data-plots", "unavailable");
  }

  function loadPlotly() {
    var node = document.getElementById("plotly-gz");
    if (!node || !Object.keys(figures).length) return Promise.resolve(false);
    if (typeof DecompressionStream === "undefined") {
      failed("plots need a browser with DecompressionStream (Chrome 80+, Firefox 113+, Safari 16.4+); " +
             "the tables show every number");
      return Promise.resolve(false);
    }
    var binary = atob(node.textContent.trim());
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text().then(function (code) {
      (0, eval)(code);  // plotly.js, as shipped, defines window.Plotly
      return true;
    });
  }

  document.addEventListener("toggle", function (e) {
    if (!window.Plotly || !e.target.open) return;
    e.target.querySelectorAll("div.plot.js-plotly-plot").forEach(function (div) { window.Plotly.Plots.resize(div); });
  }, true);

  loadPlotly().then(function (ok) {
    if (!ok) { root.setAttribute("data-ready", "1"); return; }
    return draw().then(function () {
      root.setAttribute("data-plots", String(Object.keys(figures).length));
      root.setAttribute("data-ready", "1");
    });
  }).catch(function (err) {
    failed("the plots could not be drawn: " + err);
    root.setAttribute("data-ready", "1");
    throw err;
  });
})();
