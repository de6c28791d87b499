// /admin/jobs: job rows that follow their jobs, and the starter base and judges sections with the
// live progress of their latest job. When one of those jobs changes state (it starts, ends, or a
// new one appears) or an admin switches the base, the sections are asked for again
// (/admin/jobs/bases): the server writes them in one place. Uses static/training.js's pieces.
(function () {
  "use strict";
  const table = document.getElementById("jobs");
  const T = window.relayTraining;
  if (!table || !T) return;
  const $ = (id) => document.getElementById(id);
  const state = JSON.parse($("jobs-state").textContent);
  const body = table.tBodies[0];
  const template = $("job-row-template");
  const key = (job) => (job ? `${job.id}:${job.status}` : "");
  // The site-wide jobs shown in a section above the list, by kind: the panel's id prefix.
  const PANELS = { pretrain: "starter-", judge: "judge-" };
  let full = {};   // the latest job of each kind as GET /api/v1/jobs/<id> answers (with points)
  let seen = {};   // the latest job of each kind in the list (without points)
  let shown = {};  // what the sections were written for

  function readSections() {
    const sections = JSON.parse($("bases-state").textContent);
    full = { pretrain: sections.starter_job, judge: sections.judge_job };
    for (const kind of Object.keys(PANELS)) {
      if (!seen[kind] || (full[kind] && full[kind].id >= seen[kind].id)) seen[kind] = full[kind];
      shown[kind] = key(full[kind]);
    }
  }

  function renderPanels() {
    for (const [kind, prefix] of Object.entries(PANELS)) {
      const panel = $(`${prefix}job-panel`);
      if (panel) T.renderJob(panel, full[kind]);
    }
    renderSlow(full.pretrain);
    renderReading(full.pretrain);
  }

  // How far a running pretrain has read, and its latest held-out loss (measured after each pass).
  function renderReading(job) {
    const note = $("starter-reading");
    if (!note) return;
    const m = (job && job.metrics) || {};
    const parts = [];
    if (m.passes_total && m.total) parts.push(`소설을 ${(m.passes_total * m.step / m.total).toFixed(1)} / ${m.passes_total}번 읽었습니다`);
    const heldout = m.heldout_loss || [];
    if (heldout.length) {
      parts.push(`처음 보는 글에서의 손실 ${heldout[heldout.length - 1][2].toFixed(3)}` +
        (heldout.length > 1 ? ` (처음 ${heldout[0][2].toFixed(3)})` : "") + ": 한 번 다 읽을 때마다 잽니다, 낮을수록 좋음");
    }
    note.hidden = !T.isActive(job) || !parts.length;
    T.setText(note, parts.join(" · "));
  }

  // A pretrain reads the same passes however busy the host is, so a busy host makes it slower,
  // not worse: say so when it runs at under half the last finished pretrain's speed.
  function renderSlow(job) {
    const note = $("starter-slow");
    if (!note) return;
    const m = (job && job.metrics) || {};
    const slow = T.isActive(job) && m.stage === "training" && m.usual_tokens_per_s > 0 && m.tokens_per_s > 0
      && (m.train_elapsed_s || 0) >= 10 && m.tokens_per_s < m.usual_tokens_per_s / 2;
    note.hidden = !slow;
    if (slow) {
      const usual = (m.eta_s || 0) * m.tokens_per_s / m.usual_tokens_per_s;
      T.setText(note, `서버가 바빠 평소보다 느립니다: 예상 ${T.duration(m.eta_s)} 남음 (평소 속도라면 약 ${T.duration(usual)}). ` +
        "느려도 같은 만큼 읽으므로 모델은 나빠지지 않습니다.");
    }
  }

  async function refreshSections() {
    const response = await fetch("/admin/jobs/bases", { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html").getElementById("bases");
    if (!fresh) return;
    $("bases").replaceWith(document.importNode(fresh, true));
    readSections();
    renderPanels();
    if (window.relayBases) window.relayBases.drawFromPage();
  }

  function fillRow(row, job) {
    if (!row.dataset.jobId) {  // a new row: the parts that never change
      row.id = `job-${job.id}`;
      row.dataset.jobId = job.id;
      T.setText(row.querySelector(".job-id"), String(job.id));
      T.setText(row.querySelector(".job-kind"), state.kinds[job.kind] || job.kind);
      const story = row.querySelector(".job-story");
      if (job.story_id) {
        const link = document.createElement("a");
        link.href = `/stories/${job.story_id}/training`;
        link.textContent = job.story_title || String(job.story_id);
        story.appendChild(link);
      } else story.textContent = "–";
      row.querySelector(".job-created").appendChild(T.timeElement(job.created_at));
    }
    const active = T.isActive(job);
    const status = row.querySelector(".job-status");
    T.setText(status, `${state.statuses[job.status] || job.status}${active && job.cancel_requested ? " (취소 요청)" : ""}`);
    status.dataset.status = job.status;
    const error = row.querySelector(".job-error");
    const showError = !!job.error && ["failed", "waiting", "cancelled"].includes(job.status);
    T.setText(error, showError ? job.error : "");
    error.hidden = !showError;
    row.querySelector(".progress span").style.width = `${Math.round(job.progress * 1000) / 10}%`;
    const m = job.metrics || {};
    T.setText(row.querySelector(".job-steps"), m.total ? `${m.step}/${m.total}` : "");
    row.dataset.done = active ? "0" : "1";
    const actions = row.querySelector(".actions");
    const button = actions.querySelector("button");
    const cancellable = state.cancellable.includes(job.kind) && active && !job.cancel_requested;
    if (button && !cancellable) button.remove();
    if (!button && cancellable) {
      const cancel = document.createElement("button");
      cancel.type = "button";
      cancel.dataset.post = `/api/v1/jobs/${job.id}/cancel`;
      cancel.dataset.confirm = `작업 ${job.id}을(를) 취소할까요?`;
      cancel.textContent = "취소";
      actions.appendChild(cancel);
    }
  }

  function applyList(jobs) {
    for (const job of jobs) {
      let row = body.querySelector(`tr[data-job-id="${job.id}"]`);
      if (!row) {
        row = template.content.firstElementChild.cloneNode(true);
        const after = [...body.querySelectorAll("tr[data-job-id]")].find((r) => Number(r.dataset.jobId) < job.id);
        body.insertBefore(row, after || body.querySelector(".jobs-empty"));
        row.classList.add("fresh");
      }
      fillRow(row, job);
      if (job.kind in PANELS && (!seen[job.kind] || job.id >= seen[job.kind].id)) seen[job.kind] = job;
    }
    body.querySelector(".jobs-empty").hidden = !!body.querySelector("tr[data-job-id]");
  }

  async function tick() {
    let active = false;
    try {
      const list = await T.call("/api/v1/admin/jobs");
      applyList(list.items);
      active = list.items.some(T.isActive);
      T.setText($("jobs-live"), "목록은 저절로 바뀝니다.");
    } catch (e) {
      T.setText($("jobs-live"), "잠시 연결이 끊겼습니다. 곧 다시 확인합니다.");
    }
    let changed = false;
    for (const kind of Object.keys(PANELS)) {
      const job = seen[kind];
      if (job && (T.isActive(job) || key(job) !== key(full[kind]))) {
        full[kind] = seen[kind] = await T.call(`/api/v1/jobs/${job.id}`);
        active = active || T.isActive(full[kind]);
        changed = changed || key(full[kind]) !== shown[kind];
      }
    }
    if (changed) await refreshSections();
    else renderPanels();
    return active ? 3000 : 10000;
  }

  // Server-written rows carry their progress as data (the CSP allows no style attributes).
  for (const bar of body.querySelectorAll(".progress span[data-width]")) bar.style.width = `${bar.dataset.width}%`;
  readSections();
  const poll = T.poller(tick);
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-post]");
    if (!button) return;
    if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
    const section = button.closest("section");
    const error = (section && section.querySelector(".form-error")) || $("action-error");
    button.disabled = true;
    T.setText(error, "");
    try {
      const answer = await T.call(button.dataset.post, "POST");
      if (button.dataset.refresh) await refreshSections();
      else if (answer.job_id) {
        const kind = button.dataset.post.endsWith("/judges") ? "judge" : "pretrain";
        seen[kind] = { id: answer.job_id, status: "queued" };
      }
    } catch (e) {
      T.setText(error, e.message);
      button.disabled = false;
    }
    poll.now();
  });
  renderPanels();
  poll.later(Object.values(full).some(T.isActive) || body.querySelector('tr[data-done="0"]') ? 3000 : 10000);
})();
