// /admin/jobs: the starter base's learning curve. Each version's held-out error (bits per
// character, lower is better) after every pass, against training minutes counted from the first
// version: a continued version starts where its parent ended (its offset), and a dashed line
// joins the two. One line per version; the one that serves is drawn strongest. Drawn in the
// SVG's own pixels, like the loss curve, so labels keep their shape on a phone.
(function () {
  "use strict";

  function lines(versions) {
    return versions.map((v) => ({
      name: v.name, active: v.active, parent: v.parent,
      points: (v.curve || []).filter((p) => typeof p[2] === "number" && typeof p[1] === "number")
        .map((p) => ({ x: ((v.offset_seconds || 0) + p[1]) / 60, y: p[2] })),
    })).filter((line) => line.points.length);
  }

  function drawCurve(svg, versions) {
    svg.curveVersions = versions;
    const frame = window.relayTraining.chartFrame(svg, 80);
    const drawn = lines(versions);
    if (!drawn.length) {
      frame.empty("아직 곡선이 없습니다");
      return;
    }
    const all = drawn.flatMap((line) => line.points);
    const x1 = Math.max(...all.map((p) => p.x), 1e-6);
    let y0 = Math.min(...all.map((p) => p.y)), y1 = Math.max(...all.map((p) => p.y));
    if (y1 - y0 < 1e-6) { y0 -= 0.1; y1 += 0.1; }
    const { x, y } = frame.scale(0, x1, y0, y1, "0분", `${x1 < 10 ? x1.toFixed(1) : Math.round(x1)}분`);
    const add = frame.add;
    const ends = {};
    for (const line of drawn) ends[line.name] = line.points[line.points.length - 1];
    const labelled = [];
    for (const line of drawn) {
      const from = line.parent && ends[line.parent];
      if (from) {
        add("line", { x1: x(from.x), y1: y(from.y), x2: x(line.points[0].x), y2: y(line.points[0].y),
                      class: "chart-link" });
      }
      const kind = line.active ? "curve-line active" : "curve-line";
      add("polyline", { points: line.points.map((p) => `${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`).join(" "),
                        class: kind, "data-version": line.name });
      for (const p of line.points) add("circle", { cx: x(p.x), cy: y(p.y), r: line.active ? 3.5 : 2.5, class: kind });
      const end = ends[line.name];
      if (labelled.every((other) => Math.abs(other - y(end.y)) > 13)) {
        labelled.push(y(end.y));
        add("text", { x: x(end.x) + 6, y: y(end.y) + 4, class: "chart-label" + (line.active ? " active" : "") },
            line.name);
      }
    }
  }

  function drawFromPage() {
    const svg = document.getElementById("base-curve");
    const state = document.getElementById("bases-state");
    if (svg && state) drawCurve(svg, JSON.parse(state.textContent).versions || []);
  }

  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      const svg = document.getElementById("base-curve");
      if (svg && svg.curveVersions) drawCurve(svg, svg.curveVersions);
    }, 150);
  });

  window.relayBases = { drawCurve, drawFromPage };
  drawFromPage();
})();
