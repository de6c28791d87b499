// Training pages: the story's live training progress (polled every 2 s, the loss curve drawn
// as SVG), its model versions, the admins' buttons; on /admin/jobs, live rows and buttons.
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  const STATUS = { queued: "대기열", waiting: "기본 모델 대기", running: "실행 중", succeeded: "완료",
                   failed: "실패", cancelled: "취소됨" };
  const STAGE = { preparing: "데이터 준비 중", training: "학습 중", saving: "검증·저장 중", done: "끝" };
  const KIND = { train: "글 학습", retrain: "재학습", pretrain: "기본 모델 학습" };
  const ACTIVE = ["queued", "waiting", "running"];
  const SVG = "http://www.w3.org/2000/svg";

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

  // ---------------------------------------------------------------- the loss curve

  function drawChart(svg, points) {
    const W = 640, H = 240, left = 48, right = 12, top = 12, bottom = 28;
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const add = (name, attrs, text) => {
      const el = document.createElementNS(SVG, name);
      for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
      if (text !== undefined) el.textContent = text;
      svg.appendChild(el);
      return el;
    };
    add("rect", { x: left, y: top, width: W - left - right, height: H - top - bottom, class: "chart-area" });
    if (!points.length) {
      add("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "chart-label" }, "아직 손실 기록이 없습니다");
      return;
    }
    const steps = points.map((p) => p.step), losses = points.map((p) => p.loss);
    const x0 = Math.min(...steps), x1 = Math.max(...steps, x0 + 1);
    let y0 = Math.min(...losses), y1 = Math.max(...losses);
    if (y1 - y0 < 1e-6) { y0 -= 0.5; y1 += 0.5; }
    const x = (s) => left + ((s - x0) / (x1 - x0)) * (W - left - right);
    const y = (l) => top + (1 - (l - y0) / (y1 - y0)) * (H - top - bottom);
    for (const value of [y0, (y0 + y1) / 2, y1]) {
      add("line", { x1: left, x2: W - right, y1: y(value), y2: y(value), class: "chart-grid" });
      add("text", { x: left - 6, y: y(value) + 4, "text-anchor": "end", class: "chart-label" }, value.toFixed(2));
    }
    add("text", { x: left, y: H - 8, class: "chart-label" }, String(x0));
    add("text", { x: W - right, y: H - 8, "text-anchor": "end", class: "chart-label" }, `${x1}단계`);
    add("polyline", { points: points.map((p) => `${x(p.step).toFixed(1)},${y(p.loss).toFixed(1)}`).join(" "),
                      class: "chart-line" });
    const last = points[points.length - 1];
    add("circle", { cx: x(last.step), cy: y(last.loss), r: 3.5, class: "chart-dot" });
  }

  // ---------------------------------------------------------------- a story's training page

  function storyPage(root) {
    const storyId = root.dataset.storyId;
    const isAdmin = root.dataset.admin === "1";
    let state = JSON.parse($("training-state").textContent);
    let timer = null, lastVersions = "";

    function renderJob(job) {
      const panel = $("job-panel");
      $("job-none").hidden = !!job;
      panel.hidden = !job;
      if (!job) return;
      const m = job.metrics || {};
      const active = ACTIVE.includes(job.status);
      setText($("job-title"), `${KIND[job.kind] || job.kind} · 작업 ${job.id}`);
      const stage = active && m.stage ? ` · ${STAGE[m.stage] || m.stage}` : "";
      const cancelling = active && job.cancel_requested ? " · 취소 요청됨" : "";
      setText($("job-status"), `${STATUS[job.status] || job.status}${stage}${cancelling}`);
      $("job-status").dataset.status = job.status;
      const percent = Math.round(job.progress * 1000) / 10;
      $("job-progress").querySelector("span").style.width = `${percent}%`;
      $("job-progress").setAttribute("aria-valuenow", String(percent));
      setText($("job-steps"), m.total ? `${m.step} / ${m.total} · ${Math.round(percent)}%` : `${Math.round(percent)}%`);
      setText($("job-speed"), m.tokens_per_s ? `${Math.round(m.tokens_per_s).toLocaleString("ko-KR")} 토큰/초` : "–");
      setText($("job-eta"), active ? duration(m.eta_s) : "–");
      setText($("job-loss"), typeof m.loss === "number" ? m.loss.toFixed(3)
        : (typeof m.train_loss === "number" ? m.train_loss.toFixed(3) : "–"));
      drawChart($("loss-chart"), job.points || []);
      let message = "";
      if (job.status === "failed") message = `실패: ${job.error || ""}`;
      else if (job.status === "waiting" || job.status === "cancelled") message = job.error || "";
      else if (job.status === "succeeded" && m.decision) message = `${m.version || ""}: ${m.decision}`;
      setText($("job-message"), message);
      $("job-message").hidden = !message;
      if (isAdmin) {
        $("cancel-button").hidden = !active || job.cancel_requested;
        $("retrain-button").disabled = active;
      }
    }

    function renderVersions(versions) {
      const key = JSON.stringify(versions.map((v) => [v.id, v.active, v.held_for_admin]));
      if (key === lastVersions) return;
      lastVersions = key;
      const list = $("versions");
      list.textContent = "";
      $("versions-none").hidden = versions.length > 0;
      for (const v of versions) {
        const li = document.createElement("li");
        li.className = "version" + (v.active ? " active" : "") + (v.held_for_admin ? " held" : "");
        li.dataset.id = v.id;
        const m = v.metrics || {};
        const title = document.createElement("p");
        title.className = "version-title";
        title.textContent = v.name;
        if (v.active) title.insertAdjacentHTML("beforeend", ' <span class="badge ai">사용 중</span>');
        if (v.held_for_admin) title.insertAdjacentHTML("beforeend", ' <span class="badge held">관리자 확인 대기</span>');
        const meta = document.createElement("p");
        meta.className = "muted version-meta";
        const novels = (v.data.novels || []).length;
        const bits = [new Date(v.created_at).toLocaleString("ko-KR")];
        if (novels) bits.push(`소설 ${novels}편`);
        if (v.data.passages) bits.push(`글 ${v.data.passages.length}개`);
        if (typeof m.val_loss === "number") bits.push(`검증 손실 ${m.val_loss.toFixed(3)}`);
        if (typeof m.active_val_loss === "number") bits.push(`이전 ${m.active_val_loss.toFixed(3)}`);
        meta.textContent = bits.join(" · ");
        li.append(title, meta);
        if (m.decision) {
          const why = document.createElement("p");
          why.className = "hint";
          why.textContent = m.decision;
          li.appendChild(why);
        }
        if (isAdmin && !v.active) {
          const button = document.createElement("button");
          button.type = "button";
          button.textContent = v.held_for_admin ? "이 버전 적용" : "이 버전으로 되돌리기";
          button.addEventListener("click", () => act(`/api/v1/stories/${storyId}/models/${v.id}/activate`,
            `${v.name}을(를) 이 이야기의 모델로 쓸까요?`));
          li.appendChild(button);
        }
        list.appendChild(li);
      }
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
      try {
        if (withVersions || !state.job || !ACTIVE.includes(state.job.status)) {
          const models = await call(`/api/v1/stories/${storyId}/models`);
          state.versions = models.items;
          renderVersions(state.versions);
          if (models.job_id && (!state.job || state.job.id !== models.job_id || ACTIVE.includes(state.job.status))) {
            state.job = await call(`/api/v1/jobs/${models.job_id}`);
          }
        } else {
          const wasActive = ACTIVE.includes(state.job.status);
          state.job = await call(`/api/v1/jobs/${state.job.id}`);
          if (wasActive && !ACTIVE.includes(state.job.status)) return refresh(true);
        }
        renderJob(state.job);
      } catch (e) { /* a missed poll: the next one catches up */ }
    }

    function schedule() {
      clearTimeout(timer);
      // every 2 s while a job runs; every 5 s otherwise, to notice a job someone else starts
      const active = state.job && ACTIVE.includes(state.job.status);
      timer = setTimeout(async () => { await refresh(false); schedule(); }, active ? 2000 : 5000);
    }

    if (isAdmin) {
      $("retrain-button").addEventListener("click", () =>
        act(`/api/v1/stories/${storyId}/retrain`, "이 이야기의 모델을 다시 학습할까요?"));
      $("cancel-button").addEventListener("click", () =>
        state.job && act(`/api/v1/jobs/${state.job.id}/cancel`, "학습을 취소할까요? 지금까지 학습한 것은 버려집니다."));
    }
    renderJob(state.job);
    renderVersions(state.versions);
    schedule();
  }

  // ---------------------------------------------------------------- /admin/jobs

  function adminPage(table) {
    document.querySelectorAll("button[data-post]").forEach((button) => {
      button.addEventListener("click", async () => {
        if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
        button.disabled = true;
        try {
          await call(button.dataset.post, "POST");
          window.location.reload();
        } catch (e) {
          setText($("action-error"), e.message);
          button.disabled = false;
        }
      });
    });
    async function poll() {
      for (const row of table.querySelectorAll('tr[data-done="0"]')) {
        try {
          const job = await call(`/api/v1/jobs/${row.dataset.jobId}`);
          const cell = row.querySelector(".job-status");
          setText(cell, `${STATUS[job.status] || job.status}${job.cancel_requested && ACTIVE.includes(job.status) ? " (취소 요청)" : ""}`);
          row.querySelector(".progress span").style.width = `${Math.round(job.progress * 1000) / 10}%`;
          const m = job.metrics || {};
          setText(row.querySelector(".job-steps"), m.total ? `${m.step}/${m.total}` : "");
          if (!ACTIVE.includes(job.status)) {
            row.dataset.done = "1";
            const button = row.querySelector("button");
            if (button) button.remove();
          }
        } catch (e) { /* try again next time */ }
      }
      setTimeout(poll, 2000);
    }
    setTimeout(poll, 2000);
  }

  const storyRoot = $("training");
  if (storyRoot) storyPage(storyRoot);
  const jobsTable = $("jobs");
  if (jobsTable) adminPage(jobsTable);
})();
