// Times in the viewer's own time zone. The server writes every <time datetime="…+09:00"> with
// its text in Asia/Seoul (the `local_time` Jinja filter), which reads right without JavaScript;
// this rewrites the text with the browser's zone. A <time> added later by a page's script is
// rewritten too (a MutationObserver), so scripts only need to create
// <time datetime="ISO 8601" data-style="date|datetime|seconds">.
(function () {
  "use strict";
  const DAY = { year: "numeric", month: "2-digit", day: "2-digit" };
  const STYLES = {
    date: DAY,
    datetime: { ...DAY, hour: "2-digit", minute: "2-digit", hourCycle: "h23" },
    seconds: { ...DAY, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" },
  };
  const formatters = {};

  function formatter(style) {
    const key = STYLES[style] ? style : "datetime";
    return formatters[key] || (formatters[key] = new Intl.DateTimeFormat("ko-KR", STYLES[key]));
  }

  // The zone's short name for the tooltip, e.g. "GMT+9".
  function zoneName(date) {
    const parts = new Intl.DateTimeFormat("ko-KR", { timeZoneName: "short" }).formatToParts(date);
    const zone = parts.find((p) => p.type === "timeZoneName");
    return zone ? zone.value : Intl.DateTimeFormat().resolvedOptions().timeZone;
  }

  function format(value, style = "datetime") {
    const date = value instanceof Date ? value : new Date(value);
    return Number.isNaN(date.getTime()) ? "" : formatter(style).format(date);
  }

  function localize(el) {
    const iso = el.getAttribute("datetime");
    if (!iso || el.dataset.localized === iso) return;
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return;
    el.dataset.localized = iso;
    const text = format(date, el.dataset.style);
    if (el.textContent !== text) el.textContent = text;
    el.title = `${format(date, "seconds")} (${zoneName(date)})`;
  }

  function localizeAll(root) {
    if (root.matches && root.matches("time[datetime]")) localize(root);
    if (root.querySelectorAll) root.querySelectorAll("time[datetime]").forEach(localize);
  }

  // A <time> element for scripts: new Date(iso) in the viewer's zone, localized at once.
  function element(iso, style = "datetime") {
    const el = document.createElement("time");
    el.setAttribute("datetime", iso);
    el.dataset.style = style;
    localize(el);
    return el;
  }

  window.localTime = { format, element, localize: localizeAll };

  function start() {
    localizeAll(document);
    new MutationObserver((mutations) => {
      for (const m of mutations) {
        for (const node of m.addedNodes) if (node.nodeType === 1) localizeAll(node);
        // a <time> whose datetime a script changed in place
        if (m.type === "attributes" && m.target.nodeName === "TIME") localize(m.target);
      }
    }).observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ["datetime"] });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
