// The story page: keeps the round panel current, patching it in place (no flicker, half-typed
// input kept) and appending new passages. Where the site runs the live round server
// (data-live="1"), an EventSource on /live brings the whole round, as everyone sees it, at
// each change: nothing is fetched then, and the page's own part (its vote, its proposal, the
// right to advance) is kept from its last answer. Otherwise, or while the stream is lost, the
// page polls the round about once a second (ETag, so an idle round costs a 304), backing off
// with jitter when the server does not answer. A hidden tab stops polling until it is shown,
// unless its user asked to be notified of phase changes.
(function () {
  "use strict";
  const storyEl = document.getElementById("story");
  const storyId = storyEl.dataset.storyId;
  const signedIn = storyEl.dataset.signedIn === "1";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const api = (path) => `/api/v1/stories/${storyId}${path}`;
  const $ = (id) => document.getElementById(id);

  const PHASES = { proposing: "제안", voting: "투표", generating: "AI 작성", choosing: "후보 선택", closed: "종료" };
  // What to do, who may act and when the round moves on come with the round (state.guide),
  // written by the server (app/rounds/guide.py), which also writes them into the page.

  let state = JSON.parse($("round-state").textContent);
  let etag = null;
  let clockOffset = 0;
  let pollTimer = null;
  let failures = 0;
  let streaming = false;  // the live stream is open: the round arrives with each change
  const liveSite = storyEl.dataset.live === "1";
  // What only this page's user sees, from the last answer read for them (not from the stream).
  let own = ownPart(state);

  function setText(el, text) { if (el.textContent !== text) el.textContent = text; }
  function show(el, visible) { if (el.hidden === visible) el.hidden = !visible; }

  async function send(path, body, method = "POST") {
    const response = await fetch(api(path), {
      method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify(body || {}),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const message = (data.error && data.error.message) || `요청이 실패했습니다 (${response.status}).`;
      throw new Error(message);
    }
    return data;
  }

  function choiceItem(list, id, build) {
    let li = list.querySelector(`li[data-id="${id}"]`);
    if (!li) { li = build(); li.dataset.id = id; list.appendChild(li); }
    return li;
  }

  function renderChoices(list, items, stage, votable) {
    const myTarget = state.my_vote && state.my_vote.stage === stage
      ? (stage === "proposal" ? state.my_vote.proposal_id : state.my_vote.candidate_id) : null;
    const seen = new Set();
    const total = items.reduce((n, item) => n + item.votes, 0);
    for (const item of items) {
      seen.add(String(item.id));
      const li = choiceItem(list, item.id, () => {
        const li = document.createElement("li");
        li.className = "choice";
        li.innerHTML = '<p class="choice-text"></p><p class="choice-meta"></p>' +
          '<div class="bar"><span></span></div><button type="button" class="vote"></button>';
        li.querySelector("button").addEventListener("click", () => castVote(stage, Number(li.dataset.id)));
        return li;
      });
      let text, meta;
      if (stage === "proposal") {
        text = item.text !== null ? item.text
          : `키워드 「${item.keyword}」 · ${item.sentences}문장${item.mood ? ` · 분위기 ${item.mood}` : ""}`;
        const length = item.text === null ? "" :
          ` · ${item.text_sentences !== null ? `${item.text_sentences}문장 · ` : ""}${[...item.text].length}자`;
        meta = `${item.text !== null ? "직접 쓴 글" : "AI에게 맡김"}${length} · ${item.author}${item.mine ? " (내 제안)" : ""}`;
      } else {
        text = item.text;
        meta = item.notes && item.notes.length ? `AI 후보 · 인물·배경 노트: ${item.notes.join(", ")}` : "AI 후보";
      }
      setText(li.querySelector(".choice-text"), text);
      setText(li.querySelector(".choice-meta"), `${meta} · ${item.votes}표`);
      li.querySelector(".bar span").style.width = total ? `${Math.round((100 * item.votes) / total)}%` : "0%";
      li.classList.toggle("mine", myTarget === item.id);
      li.classList.toggle("winner", stage === "proposal" && state.winning_proposal_id === item.id);
      const button = li.querySelector("button");
      show(button, votable);
      setText(button, myTarget === item.id ? "내 선택 ✓" : "이것에 투표");
    }
    for (const li of Array.from(list.children)) if (!seen.has(li.dataset.id)) li.remove();
  }

  function renderCountdown() {
    const el = $("countdown");
    if (!state.deadline || state.phase === "closed") { show(el, false); return; }
    const left = Math.max(0, Date.parse(state.deadline) - (Date.now() + clockOffset));
    const minutes = Math.floor(left / 60000), seconds = Math.floor((left % 60000) / 1000);
    setText(el, left > 0 ? `남은 시간 ${minutes}:${String(seconds).padStart(2, "0")}` : "곧 다음 단계로 넘어갑니다");
    show(el, true);
  }

  function duration(seconds) {
    const s = Math.max(1, Math.round(seconds));
    return s >= 60 ? `${Math.floor(s / 60)}분${s % 60 ? ` ${s % 60}초` : ""}` : `${s}초`;
  }

  // While the AI writes: a bar and the time left, by the estimate from this site's recent speed.
  function renderWriting() {
    const job = state.phase === "generating" ? state.job : null;
    const writing = !!job && (job.status === "queued" || job.status === "running");
    show($("round-writing"), writing);
    if (!writing) return;
    const percent = Math.round((job.status === "running" ? job.progress : 0) * 100);
    $("round-progress").querySelector("span").style.width = `${percent}%`;
    $("round-progress").setAttribute("aria-valuenow", String(percent));
    let text;
    if (job.status === "queued") text = "AI가 쓸 차례를 기다리고 있습니다.";
    else if (job.eta_s === null || job.eta_s === undefined) text = "AI가 후보를 쓰는 중입니다…";
    else if (job.eta_s > 0) text = `AI가 후보를 쓰는 중입니다 · 남은 시간 약 ${duration(job.eta_s)} (최근 속도로 어림)`;
    else text = "AI가 후보를 쓰는 중입니다 · 어림한 시간이 지났습니다. 곧 끝납니다.";
    setText($("round-eta"), text);
  }

  function render() {
    setText($("round-number"), String(state.number));
    setText($("round-phase"), PHASES[state.phase] || state.phase);
    setText($("byline-k"), String(state.candidates_k));
    setText($("round-notice"), state.notice || "");
    show($("round-notice"), Boolean(state.notice));
    renderWriting();
    // Only a real failure is retried or replaced; a job waiting for a base model goes on by itself.
    const failed = state.phase === "generating" && state.job && state.job.status === "failed";
    setText($("phase-help"), state.guide.help);
    setText($("round-who"), state.guide.who);
    setText($("round-next"), state.guide.next);
    const most = state.max_sentences === null ? 10 : Math.max(1, state.max_sentences);
    setText($("max-sentences"), String(most));
    form.elements.sentences.max = String(most);
    show($("propose-form"), signedIn && state.phase === "proposing");
    const mine = state.proposals.find((p) => p.mine);
    setText($("propose-button"), mine ? "제안 고치기" : "제안하기");
    show($("proposals"), ["proposing", "voting", "generating"].includes(state.phase));
    renderChoices($("proposals"), state.proposals, "proposal", signedIn && state.phase === "voting");
    show($("candidates"), state.phase === "choosing");
    renderChoices($("candidates"), state.candidates, "candidate", signedIn && state.phase === "choosing");
    show($("owner-tools"), state.can_advance && state.phase !== "closed");
    show($("advance-button"), !failed);
    $("advance-button").disabled = state.phase === "generating";
    show($("recover"), failed);
    renderCountdown();
    renderTitle();
  }

  // The tab says where the round is, so a change shows in another tab: "(투표 중) 제목".
  const TAB = { proposing: "제안 중", voting: "투표 중", generating: "AI 작성 중", choosing: "후보 선택 중" };
  const storyTitle = document.title;
  let shownPhase = state.phase, shownRound = state.number;
  function renderTitle() {
    const tab = TAB[state.phase];
    document.title = tab ? `(${tab}) ${storyTitle}` : storyTitle;
    setText($("jump-phase"), `${state.number}라운드 ${PHASES[state.phase] || state.phase}`);
    if (state.phase !== shownPhase || state.number !== shownRound) {
      if (state.number !== shownRound) clearProposal();
      notifyPhase();
      shownPhase = state.phase;
      shownRound = state.number;
    }
  }

  // A new round starts with an empty form: last round's keyword or passage, as it was sent, is
  // not this one's. Text typed since and not sent is kept.
  let sentBody = null;
  function formBody() {
    return form.elements.kind.value === "text"
      ? { text: form.elements.text.value }
      : { keyword: form.elements.keyword.value, sentences: Number(form.elements.sentences.value),
          mood: form.elements.mood.value || null };
  }
  function clearProposal() {
    if (sentBody === null || JSON.stringify(formBody()) !== sentBody) return;
    sentBody = null;
    form.reset();
    form.classList.remove("sent");
    show(form.querySelector(".kind-text"), false);
    show(form.querySelector(".kind-keyword"), true);
    setText($("text-count"), "0자");
    setText($("propose-error"), "");
  }

  // Opt-in browser notifications of phase changes, only while this tab is in the background.
  const notifyButton = $("notify-button");
  function notifyPhase() {
    if (!window.Notification || Notification.permission !== "granted" || !document.hidden) return;
    const tab = TAB[state.phase] || PHASES[state.phase];
    new Notification(`${storyTitle.replace(/ · 릴레이 소설$/, "")}: ${state.number}라운드 ${tab}`,
                     { body: state.guide.help, tag: `story-${storyId}` });
  }
  if (window.Notification && Notification.permission === "default") {
    show(notifyButton, true);
    notifyButton.addEventListener("click", async () => {
      const answer = await Notification.requestPermission();
      show(notifyButton, false);
      // Beside the button, for everyone (not among the owner's tools).
      const status = $("notify-status");
      setText(status, answer === "granted" ? "단계가 바뀌면 알려 드립니다 (이 탭이 뒤에 있을 때)."
        : "브라우저에서 알림을 막았습니다. 브라우저의 사이트 설정에서 알림을 허용하면 받을 수 있습니다.");
      show(status, true);
    });
  }

  async function catchUpPassages() {
    const shown = document.querySelectorAll("#passages .passage");
    const lastShown = shown.length ? Number(shown[shown.length - 1].dataset.seq) : 0;
    if (state.last_seq <= lastShown) return;
    const response = await fetch(api(`/passages?after=${lastShown}`), { credentials: "same-origin" });
    if (!response.ok) return;
    const data = await response.json();
    const container = $("passages");
    for (const p of data.passages) {
      if (container.querySelector(`[data-seq="${p.seq}"]`)) continue;
      const section = document.createElement("section");
      section.className = `passage passage-${p.author_kind}${p.hidden ? " passage-hidden" : ""} fresh`;
      section.dataset.seq = p.seq;
      section.id = `p${p.seq}`;
      const text = document.createElement("p");
      text.className = "passage-text";
      text.textContent = p.text;
      const meta = document.createElement("p");
      meta.className = "passage-meta";
      const badge = document.createElement("span");
      badge.className = `badge ${p.author_kind}`;
      badge.textContent = p.author_kind === "ai" ? "AI" : "사람";
      const credit = p.proposal ? `키워드 ${p.proposal.keyword} · ${p.proposal.sentences}문장 · 제안 ${p.proposal.author} · ` : "";
      meta.append(badge, " ", p.author_kind === "ai" ? credit + (p.model_version || "") : p.author);
      section.append(text, meta);
      container.appendChild(section);
    }
  }

  function ownPart(round) {
    return { round: round.id, myVote: round.my_vote, canAdvance: round.can_advance,
             mine: new Set(round.proposals.filter((p) => p.mine).map((p) => p.id)) };
  }

  // The stage a phase's votes belong to, as the server counts them.
  const stageOf = (phase) => (phase === "choosing" || phase === "closed" ? "candidate" : "proposal");

  // A round from the stream, with this page's own part put back in.
  function withOwnPart(round) {
    const sameRound = round.id === own.round;
    const myVote = sameRound && own.myVote && own.myVote.stage === stageOf(round.phase) ? own.myVote : null;
    return Object.assign(round, {
      my_vote: myVote, can_advance: own.canAdvance,
      proposals: round.proposals.map((p) => Object.assign(p, { mine: sameRound && own.mine.has(p.id) })),
    });
  }

  async function showRound(round, personal) {
    state = personal ? round : withOwnPart(round);
    if (personal) {
      own = ownPart(state);
      clockOffset = Date.parse(state.now) - Date.now();
    }
    render();
    await catchUpPassages();
  }

  // A hidden tab polls only to tell of a phase change by a notification, if its user asked for
  // them, and then every few seconds; otherwise not at all until it is shown again.
  const notifying = () => Boolean(window.Notification) && Notification.permission === "granted";
  const resting = () => document.hidden && !notifying();

  async function poll() {
    clearTimeout(pollTimer);
    if (resting()) return;  // shown again: polled at once (below)
    try {
      const headers = { Accept: "application/json" };
      if (etag) headers["If-None-Match"] = etag;
      const response = await fetch(api("/round"), { credentials: "same-origin", headers, cache: "no-store" });
      if (response.status === 200) {
        etag = response.headers.get("ETag");
        await showRound(await response.json(), true);
      } else if (response.status !== 304) {
        throw new Error(String(response.status));
      }
      failures = 0;
    } catch (e) {
      failures += 1;
    }
    schedule();
  }

  // The next poll: about every second, later after failures (up to 30 s), every 30 s while the
  // stream is open (in case it went quiet without closing); spread so that pages that lost
  // their stream together do not come back together.
  function schedule() {
    clearTimeout(pollTimer);
    if (resting()) return;
    const base = streaming ? 30000 : failures ? Math.min(30000, 1000 * 2 ** failures) : document.hidden ? 3000 : 1000;
    pollTimer = setTimeout(poll, base * (0.8 + 0.4 * Math.random()));
  }

  document.addEventListener("visibilitychange", () => { if (!document.hidden) poll(); });

  async function castVote(stage, id) {
    setText($("vote-error"), "");
    try {
      await send("/round/votes", stage === "proposal" ? { proposal_id: id } : { candidate_id: id });
      state.my_vote = { stage, proposal_id: stage === "proposal" ? id : null, candidate_id: stage === "candidate" ? id : null };
      own.myVote = state.my_vote;
      render();
    } catch (e) {
      setText($("vote-error"), e.message);
    }
    poll();
  }

  const form = $("propose-form");
  form.addEventListener("change", (event) => {
    if (event.target.name !== "kind") return;
    const byText = form.elements.kind.value === "text";
    show(form.querySelector(".kind-text"), byText);
    show(form.querySelector(".kind-keyword"), !byText);
  });
  form.elements.text.addEventListener("input", () => {
    setText($("text-count"), `${form.elements.text.value.trim().length}자`);
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    setText($("propose-error"), "");
    const body = formBody();
    try {
      await send("/round/proposals", body);
      sentBody = JSON.stringify(body);
      setText($("propose-error"), "");
      form.classList.add("sent");
    } catch (e) {
      setText($("propose-error"), e.message);
    }
    poll();
  });

  async function ownerAction(path, body) {
    setText($("advance-error"), "");
    try {
      state = await send(path, body);
      own = ownPart(state);
      render();
    } catch (e) {
      setText($("advance-error"), e.message);
    }
    poll();
  }
  $("advance-button").addEventListener("click", () => ownerAction("/round/advance"));
  for (const button of document.querySelectorAll("#recover [data-recover]"))
    button.addEventListener("click", () => ownerAction("/round/recover", { action: button.dataset.recover }));

  const settingsForm = $("settings-form");
  settingsForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const settings = {};
    for (const input of settingsForm.querySelectorAll("input[type=number]"))
      settings[input.name] = Number(input.value);
    try {
      const story = await send("", { settings }, "PATCH");
      state.candidates_k = story.settings.candidates_k;
      render();
      setText($("settings-status"), "저장했습니다. 다음 단계부터 적용됩니다.");
      poll();
    } catch (e) {
      setText($("settings-status"), e.message);
    }
  });

  function listen() {
    if (!liveSite || !window.EventSource) return;
    const source = new EventSource(api("/live"));
    source.onopen = () => { streaming = true; schedule(); };
    source.addEventListener("round", (event) => showRound(JSON.parse(event.data), false));
    source.onerror = () => {
      // The browser reconnects a dropped stream by itself; a refused one (204, an error, the
      // live server away) stays closed, so try again later. Poll meanwhile: no change is lost,
      // since a stream begins with the whole round.
      streaming = false;
      poll();
      if (source.readyState === EventSource.CLOSED)
        setTimeout(listen, 30000 * (0.5 + Math.random()));
    };
  }

  clockOffset = Date.parse(state.now) - Date.now();
  render();
  setInterval(renderCountdown, 1000);
  schedule();
  listen();
})();
