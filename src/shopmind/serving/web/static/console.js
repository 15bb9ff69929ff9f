/* Draws every chart of the page with the installed plotly.min.js: the figure is the JSON in
   <script type="application/json" id="fig-NAME">; hover, zoom and the mode bar's PNG download
   come with Plotly. The page works without this script (tables and CSV links). */
(function () {
  "use strict";
  function draw() {
    if (typeof Plotly === "undefined") { return; }
    document.querySelectorAll(".chart[data-figure]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-figure"));
      if (!source) { return; }
      var figure = JSON.parse(source.textContent);
      Plotly.newPlot(el, figure.data, figure.layout, {
        responsive: true,
        displaylogo: false,
        toImageButtonOptions: { format: "png", filename: el.getAttribute("data-name") || "chart" }
      }).then(function () { el.setAttribute("data-drawn", "1"); });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
