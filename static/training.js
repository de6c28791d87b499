// Training pages: a training job's live progress (the loss curve drawn as SVG), a story's model
// versions and the admins' buttons; /admin/jobs uses the same pieces (static/admin_jobs.js).
// Polling pauses while the tab is hidden and resumes when it is shown.
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  const STATUS = { queued: "대기열", waiting: "기본 모델 대기", running: "실행 중", succeeded: "완료",
                   failed: "실패", cancelled: "취소됨" };
  const STAGE = { preparing: "데이터 준비 중", training: "학습 중", saving: "검증·저장 중", done: "끝" };
  const KIND = { train: "글 학습", retrain: "재학습", prefer: "선호 학습", pretrain: "기본 모델 학습", judge: "판정 모델 학습",
                 generate: "후보 작성" };
  const ACTIVE = ["queued", "waiting", "running"];
  const SVG = "http://www.w3.org/2000/svg";
  const isActive = (job) => !!job && ACTIVE.includes(job.status);

  async function call(path, method = "GET") {
    const response = await fetch(path, {
      method, credentials: "same-origin",
      headers: { "Accept": "application/json", "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: method === "GET" ? undefined : "{}",
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error((data.error && data.error.message) || `요청이 실패했습니다 (${response.status}).`);
    return data;
  }

  function setText(el, text) { if (el && el.textContent !== text) el.textContent = text; }
  function duration(seconds) {
    if (seconds === undefined || seconds === null) return "–";
    const s = Math.max(0, Math.round(seconds));
    return s >= 60 ? `${Math.floor(s / 60)}분 ${s % 60}초` : `${s}초`;
  }
  function timeElement(iso, style) {
    if (window.localTime) return window.localTime.element(iso, style);
    const el = document.createElement("time");
    el.setAttribute("datetime", iso);
    el.textContent = new Date(iso).toLocaleString("ko-KR");
    return el;
  }

  // Calls tick() now and again after the milliseconds it returns; stops while the tab is
  // hidden (nobody is looking) and calls at once when it is shown again.
  function poller(tick) {
    let timer = null, running = false, again = false;
    async function run() {
      clearTimeout(timer);
      timer = null;
      if (document.hidden) return;
      if (running) { again = true; return; }
      running = true;
      let wait = 5000;
      try { wait = await tick(); } catch (e) { /* a missed poll: the next one catches up */ }
      running = false;
      if (again) { again = false; return run(); }
      if (!document.hidden) timer = setTimeout(run, wait);
    }
    document.addEventListener("visibilitychange", () => {
      if (document.hidden) { clearTimeout(timer); timer = null; } else run();
    });
    return { now: run, later: (ms) => { clearTimeout(timer); timer = setTimeout(run, ms); } };
  }

  // ---------------------------------------------------------------- the loss curve

  // A chart drawn in the SVG's own pixels (its viewBox set to its size), so the labels keep their
  // shape on a narrow phone; redrawn when the window changes size. bases.js draws with it too.
  function chartFrame(svg, right = 12) {
    const W = Math.round(svg.clientWidth) || 640, H = Math.round(svg.clientHeight) || 240;
    const left = 48, top = 12, bottom = 28;
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
    // Draws three labelled grid lines and the x axis's two ends; returns the scales from data to pixels.
    const scale = (x0, x1, y0, y1, fromLabel, toLabel) => {
      const x = (v) => left + ((v - x0) / (x1 - x0)) * (W - left - right);
      const y = (v) => top + (1 - (v - y0) / (y1 - y0)) * (H - top - bottom);
      for (const value of [y0, (y0 + y1) / 2, y1]) {
        add("line", { x1: left, x2: W - right, y1: y(value), y2: y(value), class: "chart-grid" });
        add("text", { x: left - 6, y: y(value) + 4, "text-anchor": "end", class: "chart-label" }, value.toFixed(2));
      }
      add("text", { x: left, y: H - 8, class: "chart-label" }, fromLabel);
      add("text", { x: W - right, y: H - 8, "text-anchor": "end", class: "chart-label" }, toLabel);
      return { x, y };
    };
    const empty = (text) => add("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "chart-label" }, text);
    return { add, scale, empty };
  }

  function drawChart(svg, points) {
    svg.lossPoints = points;
    const frame = chartFrame(svg);
    if (!points.length) {
      frame.empty("아직 손실 기록이 없습니다");
      return;
    }
    const steps = points.map((p) => p.step), losses = points.map((p) => p.loss);
    const x0 = Math.min(...steps), x1 = Math.max(...steps, x0 + 1);
    let y0 = Math.min(...losses), y1 = Math.max(...losses);
    if (y1 - y0 < 1e-6) { y0 -= 0.5; y1 += 0.5; }
    const { x, y } = frame.scale(x0, x1, y0, y1, String(x0), `${x1}단계`);
    const add = frame.add;
    add("polyline", { points: points.map((p) => `${x(p.step).toFixed(1)},${y(p.loss).toFixed(1)}`).join(" "),
                      class: "chart-line" });
    const last = points[points.length - 1];
    add("circle", { cx: x(last.step), cy: y(last.loss), r: 3.5, class: "chart-dot" });
  }

  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => document.querySelectorAll("svg[data-part=chart]").forEach((svg) => {
      if (svg.lossPoints) drawChart(svg, svg.lossPoints);
    }), 150);
  });

  // ---------------------------------------------------------------- a job's progress panel

  // Fills templates/training/_job_panel.html: status, bar, step/total, tokens/s (admins' panels
  // only), ETA, loss, curve. `versions` (a story's page): a version the job left for an admin and
  // an admin has applied since is said to be applied, not still waiting.
  function renderJob(panel, job, versions) {
    panel.hidden = !job;
    if (!job) return;
    const part = (name) => panel.querySelector(`[data-part="${name}"]`);
    const m = job.metrics || {};
    const active = isActive(job);
    setText(part("title"), `${KIND[job.kind] || job.kind} · 작업 ${job.id}`);
    const stage = active && m.stage ? ` · ${STAGE[m.stage] || m.stage}` : "";
    const cancelling = active && job.cancel_requested ? " · 취소 요청됨" : "";
    setText(part("status"), `${STATUS[job.status] || job.status}${stage}${cancelling}`);
    part("status").dataset.status = job.status;
    const percent = Math.round(job.progress * 1000) / 10;
    part("progress").querySelector("span").style.width = `${percent}%`;
    part("progress").setAttribute("aria-valuenow", String(percent));
    setText(part("steps"), m.total ? `${m.step} / ${m.total} · ${Math.round(percent)}%` : `${Math.round(percent)}%`);
    if (part("speed")) setText(part("speed"), m.tokens_per_s ? `${Math.round(m.tokens_per_s).toLocaleString("ko-KR")} 토큰/초` : "–");
    setText(part("eta"), active ? duration(m.eta_s) : "–");
    setText(part("loss"), typeof m.loss === "number" ? m.loss.toFixed(3)
      : (typeof m.train_loss === "number" ? m.train_loss.toFixed(3) : "–"));
    drawChart(part("chart"), job.points || []);
    let message = "";
    if (job.status === "failed") message = `실패: ${job.error || ""}`;
    else if (job.status === "waiting" || job.status === "cancelled") message = job.error || "";
    else if (job.status === "succeeded" && m.decision) {
      const version = (versions || []).find((v) => v.id === m.version_id);
      const applied = version && version.metrics && version.metrics.applied_by_admin;
      message = applied ? `${m.version || ""}: 관리자(${applied})가 적용했습니다. (처음 판단: ${m.decision})`
                        : `${m.version || ""}: ${m.decision}`;
    }
    setText(part("message"), message);
    part("message").hidden = !message;
  }

  // ---------------------------------------------------------------- a story's training page

  // One version as templates/training/story.html (version_item) writes it: a loss comparison
  // only when the version was judged by one (the server's `comparison`), its decision always.
  function versionItem(v, isAdmin, activeId) {
    const m = v.metrics || {}, data = v.data || {};
    const li = document.createElement("li");
    li.className = "version" + (v.active ? " active" : "") + (v.held_for_admin ? " held" : "");
    li.dataset.id = v.id;
    const title = document.createElement("p");
    title.className = "version-title";
    title.textContent = v.name;
    if (v.active) title.insertAdjacentHTML("beforeend", ' <span class="badge ai">사용 중</span>');
    if (v.held_for_admin) title.insertAdjacentHTML("beforeend", ' <span class="badge held">관리자 확인 대기</span>');
    const meta = document.createElement("p");
    meta.className = "muted version-meta";
    meta.appendChild(timeElement(v.created_at));
    const bits = [];
    if ((data.novels || []).length) bits.push(`소설 ${data.novels.length}편`);
    if ((data.passages || []).length) bits.push(`글 ${data.passages.length}개`);
    if ((data.preference_rounds || []).length) bits.push(`선호 라운드 ${data.preference_rounds.length}개 (쌍 ${data.pairs}개)`);
    if (bits.length) meta.append(` · ${bits.join(" · ")}`);
    li.append(title, meta);
    const c = v.comparison;
    if (c) {
      const loss = document.createElement("p");
      loss.className = "version-loss";
      loss.textContent = `검증 손실 ${c.before.toFixed(3)} → ${c.after.toFixed(3)}`;
      if (typeof c.change === "number") {
        // a change that rounds to 0.0 % is no change, in no colour
        const shown = Math.abs(c.change * 100).toFixed(1);
        const change = document.createElement("span");
        change.className = "loss-change" + (shown === "0.0" ? "" : c.change < 0 ? " better" : " worse");
        change.textContent = shown === "0.0" ? "변화 없음" : `${shown}% ${c.change < 0 ? "낮아짐" : "높아짐"}`;
        loss.append(" ", change);
      }
      li.appendChild(loss);
    }
    const pr = v.preference;
    if (pr) {
      const line = document.createElement("p");
      line.className = "version-preference";
      line.textContent = `선호 정확도 ${Math.round(pr.before * 100)}% → ${Math.round(pr.after * 100)}% `;
      const why = document.createElement("span");
      why.className = "muted";
      why.textContent = `(검증 라운드 ${pr.rounds}개에서 사람들이 고른 후보를 1위로 꼽은 비율)`;
      line.appendChild(why);
      li.appendChild(line);
    }
    if (m.decision) {
      const why = document.createElement("p");
      why.className = "hint version-decision";
      why.textContent = m.decision;
      li.appendChild(why);
    }
    if (m.applied_by_admin) {
      const applied = document.createElement("p");
      applied.className = "hint version-applied";
      applied.textContent = `관리자(${m.applied_by_admin})가 적용했습니다.`;
      li.appendChild(applied);
    }
    if (isAdmin && !v.active) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "version-activate";
      button.dataset.versionId = v.id;
      button.dataset.name = v.name;
      button.textContent = v.held_for_admin || activeId === null ? "이 버전 적용"
        : v.id > activeId ? "이 버전으로 바꾸기" : "이 버전으로 되돌리기";
      li.appendChild(button);
    }
    return li;
  }

  function storyPage(root) {
    const storyId = root.dataset.storyId;
    const isAdmin = root.dataset.admin === "1";
    const panel = $("job-panel");
    const state = JSON.parse($("training-state").textContent);
    const versionsKey = (versions) => JSON.stringify(versions.map((v) => [v.id, v.active, v.held_for_admin]));
    let lastVersions = versionsKey(state.versions);  // the server wrote these already
    const preferenceReady = root.dataset.preferenceReady === "1";
    const baseReady = root.dataset.baseReady === "1";  // no base model: nothing to train on

    function renderStoryJob(job) {
      $("job-none").hidden = !!job;
      renderJob(panel, job, state.versions);
      if (isAdmin) {
        $("cancel-button").hidden = !isActive(job) || job.cancel_requested;
        $("retrain-button").disabled = isActive(job) || !baseReady;
        $("prefer-button").disabled = isActive(job) || !preferenceReady || !baseReady;
      }
    }

    function renderVersions(versions) {
      const key = versionsKey(versions);
      if (key === lastVersions) return;
      lastVersions = key;
      const list = $("versions");
      list.textContent = "";
      $("versions-none").hidden = versions.length > 0;
      const active = versions.find((v) => v.active);
      for (const v of versions) list.appendChild(versionItem(v, isAdmin, active ? active.id : null));
    }

    async function act(path, question) {
      if (question && !window.confirm(question)) return;
      setText($("action-error"), "");
      try {
        await call(path, "POST");
        await refresh(true);
      } catch (e) {
        setText($("action-error"), e.message);
      }
    }

    async function refresh(withVersions) {
      if (withVersions || !isActive(state.job)) {
        const models = await call(`/api/v1/stories/${storyId}/models`);
        state.versions = models.items;
        renderVersions(state.versions);
        if (models.job_id && (!state.job || state.job.id !== models.job_id || isActive(state.job))) {
          state.job = await call(`/api/v1/jobs/${models.job_id}`);
        }
      } else {
        const wasActive = isActive(state.job);
        state.job = await call(`/api/v1/jobs/${state.job.id}`);
        if (wasActive && !isActive(state.job)) return refresh(true);
      }
      renderStoryJob(state.job);
    }

    if (isAdmin) {
      $("retrain-button").addEventListener("click", () =>
        act(`/api/v1/stories/${storyId}/retrain`, "이 이야기의 모델을 다시 학습할까요?"));
      $("prefer-button").addEventListener("click", () =>
        act(`/api/v1/stories/${storyId}/prefer`, "사람들이 고른 후보로 이 이야기의 모델을 학습할까요?"));
      $("cancel-button").addEventListener("click", () =>
        state.job && act(`/api/v1/jobs/${state.job.id}/cancel`, "학습을 취소할까요? 지금까지 학습한 것은 버려집니다."));
      $("versions").addEventListener("click", (event) => {
        const button = event.target.closest("button.version-activate");
        if (button) act(`/api/v1/stories/${storyId}/models/${button.dataset.versionId}/activate`,
          `이 이야기의 모델을 ${button.dataset.name} 버전으로 바꿀까요?`);
      });
    }
    renderStoryJob(state.job);
    // every 2 s while a job runs; every 5 s otherwise, to notice a job someone else starts
    const poll = poller(async () => { await refresh(false); return isActive(state.job) ? 2000 : 5000; });
    poll.later(isActive(state.job) ? 2000 : 5000);
  }

  // What the admins' job page (static/admin_jobs.js) shares with this page.
  window.relayTraining = { call, setText, duration, timeElement, poller, isActive, renderJob, chartFrame, drawChart };

  const storyRoot = $("training");
  if (storyRoot) storyPage(storyRoot);
})();
