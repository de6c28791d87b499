// /admin/jobs: the starter base's learning curve. Each version's held-out error (bits per
// character, lower is better) after every pass, against training minutes counted from the first
// version: a continued version starts where its parent ended (its offset), and a dashed line
// joins the two. One line per version; the one that serves is drawn strongest. Drawn in the
// SVG's own pixels, like the loss curve, so labels keep their shape on a phone.
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";

  function lines(versions) {
    return versions.map((v) => ({
      name: v.name, active: v.active, parent: v.parent,
      points: (v.curve || []).filter((p) => typeof p[2] === "number" && typeof p[1] === "number")
        .map((p) => ({ x: ((v.offset_seconds || 0) + p[1]) / 60, y: p[2] })),
    })).filter((line) => line.points.length);
  }

  function drawCurve(svg, versions) {
    svg.curveVersions = versions;
    const W = Math.round(svg.clientWidth) || 640, H = Math.round(svg.clientHeight) || 240;
    const left = 48, right = 80, top = 12, bottom = 28;
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const add = (name, attrs, text) => {
      const el = document.createElementNS(SVG, name);
      for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
      if (text !== undefined) el.textContent = text;
      svg.appendChild(el);
      return el;
    };
    add("rect", { x: left, y: top, width: W - left - right, height: H - top - bottom, class: "chart-area" });
    const drawn = lines(versions);
    if (!drawn.length) {
      add("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "chart-label" }, "아직 곡선이 없습니다");
      return;
    }
    const all = drawn.flatMap((line) => line.points);
    const x1 = Math.max(...all.map((p) => p.x), 1e-6);
    let y0 = Math.min(...all.map((p) => p.y)), y1 = Math.max(...all.map((p) => p.y));
    if (y1 - y0 < 1e-6) { y0 -= 0.1; y1 += 0.1; }
    const x = (v) => left + (v / x1) * (W - left - right);
    const y = (v) => top + (1 - (v - y0) / (y1 - y0)) * (H - top - bottom);
    for (const value of [y0, (y0 + y1) / 2, y1]) {
      add("line", { x1: left, x2: W - right, y1: y(value), y2: y(value), class: "chart-grid" });
      add("text", { x: left - 6, y: y(value) + 4, "text-anchor": "end", class: "chart-label" }, value.toFixed(2));
    }
    add("text", { x: left, y: H - 8, class: "chart-label" }, "0분");
    add("text", { x: W - right, y: H - 8, "text-anchor": "end", class: "chart-label" },
        `${x1 < 10 ? x1.toFixed(1) : Math.round(x1)}분`);
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
