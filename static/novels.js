// Novel pages: uploading several files at once (chosen or dropped; one API request per file,
// so each is accepted or refused on its own), the sentence count appearing once the worker has
// counted, the library's order applied on change, and a story's training-set votes, which
// follow other people's votes by polling. Without this script the upload form posts one file
// as a plain form and the library's search is a plain GET form.
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  const ENCODINGS = { "utf-8": "UTF-8", "utf-8-sig": "UTF-8 (BOM)", "utf-16": "UTF-16", "utf-32": "UTF-32", cp949: "EUC-KR (CP949)" };
  const number = (n) => n.toLocaleString("ko-KR");
  // As app/novels/services.file_size says it: KB below a megabyte (never "0KB"), else MB.
  const size = (bytes) => bytes < 1048576 ? `${Math.max(1, Math.round(bytes / 1024))}KB` : `${(bytes / 1048576).toFixed(1).replace(/\.0$/, "")}MB`;
  const setText = (el, text) => { if (el.textContent !== text) el.textContent = text; };
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function call(path, options) {
    const response = await fetch(path, { credentials: "same-origin", ...options,
      headers: { "X-CSRFToken": csrf, Accept: "application/json", ...(options && options.headers) } });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error((data.error && data.error.message) || `요청이 실패했습니다 (${response.status}).`);
      error.body = data;
      error.status = response.status;
      error.retryAfter = Number(response.headers.get("Retry-After")) || 0;
      throw error;
    }
    return data;
  }

  // The title a file gets unless the uploader types another: the same rule as the server's
  // default_title ("01_Ms._B_and_Love_Letters.txt" → "Ms. B and Love Letters").
  function defaultTitle(filename) {
    const base = filename.normalize("NFC").replace(/\\/g, "/").split("/").pop().trim();
    const stem = base.replace(/\.(txt|text)$/i, "");
    const tidy = (text) => text.replace(/_/g, " ").split(/\s+/).filter(Boolean).join(" ");
    return (tidy(stem.replace(/^\d+[\s_\-.)\]]+/, "")) || tidy(stem) || "제목 없음").slice(0, 200).trim();
  }

  // The worker counts sentences after the upload (about a minute for 5 MB): ask until it has.
  function waitForSentences(novelId, done, tries = 0) {
    if (tries > 120) return;
    setTimeout(async () => {
      try {
        const novel = await call(`/api/v1/novels/${novelId}`);
        if (novel.sentences !== null) { done(novel); return; }
      } catch (e) { /* try again */ }
      waitForSentences(novelId, done, tries + 1);
    }, Math.min(5000, 1000 + 250 * tries));
  }

  // --- a novel's own page, opened right after a plain-form upload: the count arrives later ---
  const stats = $("novel-stats");
  const pendingSentences = $("stat-sentences");
  if (stats && pendingSentences && pendingSentences.dataset.pending === "1") {
    waitForSentences(stats.dataset.novelId, (novel) => {
      pendingSentences.textContent = number(novel.sentences);
      pendingSentences.dataset.pending = "0";
    });
  }

  // --- the library: a new order applies at once (the 찾기 button stays for everything else) ---
  const librarySearch = $("library-search");
  if (librarySearch) {
    librarySearch.elements.sort.addEventListener("change", () => librarySearch.requestSubmit());
  }

  // --- uploading: several files, one request each ---
  const form = $("upload-form");
  if (form) {
    const input = $("file-input"), zone = $("dropzone"), label = $("dropzone-text");
    const fileList = $("upload-files"), results = $("upload-results"), summary = $("upload-summary");
    const error = $("upload-error"), button = $("upload-button");
    const maxBytes = Number(form.dataset.maxBytes);
    const EMPTY_LABEL = "여기에 .txt 파일을 끌어다 놓거나 눌러서 고르세요 (여러 개도 됩니다)";
    let chosen = [];  // [{file, title input}]
    let busy = false;

    input.multiple = true;
    $("single-file-fields").hidden = true;  // each file gets its own title, author and licence below
    for (const el of form.querySelectorAll(".js-only")) el.hidden = false;
    label.textContent = EMPTY_LABEL;

    const showChosen = () => {
      if (!busy) setText(button, chosen.length > 1 ? `${chosen.length}개 올리기` : "올리기");
      fileList.hidden = chosen.length === 0;
      zone.classList.toggle("has-file", chosen.length > 0);
      label.textContent = chosen.length ? `${chosen.length}개 파일을 골랐습니다. 더 끌어다 놓거나 눌러서 더할 수 있습니다.` : EMPTY_LABEL;
    };

    function addFiles(files) {
      for (const file of files) {
        if (chosen.some((c) => c.file.name === file.name && c.file.size === file.size && c.file.lastModified === file.lastModified)) continue;
        const li = document.createElement("li");
        li.className = "upload-file";
        li.innerHTML = '<div class="upload-file-head"><span class="upload-file-name"></span>' +
          '<button type="button" class="small remove-file">빼기</button></div>' +
          '<label class="field"><span>제목</span><input class="file-title" maxlength="200"></label>' +
          '<label class="field"><span>지은이</span><input class="file-author" maxlength="100"></label>' +
          '<label class="field"><span>저작권</span><input class="file-licence" maxlength="500" list="licence-options"' +
          ' placeholder="예: 저작권 만료 (작가 1937년 사망)"></label>' +
          '<div class="upload-file-foot"><button type="button" class="small copy-to-all">지은이·저작권을 모든 파일에 같게</button>' +
          '<span class="form-error file-error" role="alert"></span></div>';
        li.querySelector(".upload-file-name").textContent = `${file.name} · ${size(file.size)}`;
        const title = li.querySelector(".file-title");
        // The server takes a missing title from the text's first lines (동백꽃 / 김유정), else
        // from the file name: the placeholder says which name is the fallback.
        title.placeholder = `비워 두면 글 첫머리의 제목, 없으면 「${defaultTitle(file.name)}」`;
        const author = li.querySelector(".file-author"), licence = li.querySelector(".file-licence");
        // A new file starts with the licence of the file above it: a batch is often all public domain.
        if (chosen.length) licence.value = chosen[chosen.length - 1].licence.value;
        const entry = { file, title, author, licence, li };
        li.querySelector(".copy-to-all").addEventListener("click", () => {
          for (const other of chosen) {
            other.author.value = author.value;
            other.licence.value = licence.value;
          }
        });
        li.querySelector(".remove-file").addEventListener("click", () => {
          chosen = chosen.filter((c) => c !== entry);
          li.remove();
          showChosen();
        });
        chosen.push(entry);
        fileList.append(li);
      }
      showChosen();
    }

    input.addEventListener("change", () => {
      addFiles(Array.from(input.files));
      input.value = "";  // choosing the same file again is a change too
    });
    for (const type of ["dragenter", "dragover"])
      zone.addEventListener(type, (event) => { event.preventDefault(); zone.classList.add("dragging"); });
    for (const type of ["dragleave", "drop"])
      zone.addEventListener(type, () => zone.classList.remove("dragging"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      if (event.dataTransfer.files.length) addFiles(Array.from(event.dataTransfer.files));
    });

    function outcomeRow(file) {
      const li = document.createElement("li");
      li.className = "upload-outcome";
      li.dataset.state = "sending";
      li.innerHTML = '<p class="outcome-head"><span class="outcome-verdict">올리는 중…</span><span class="outcome-name"></span></p>';
      li.querySelector(".outcome-name").textContent = file.name;
      results.append(li);
      return li;
    }

    function accepted(li, novel) {
      li.dataset.state = "accepted";
      li.dataset.novelId = novel.id;
      const head = li.querySelector(".outcome-head");
      head.innerHTML = '<span class="outcome-verdict">올렸습니다</span><a></a>';
      head.querySelector("a").textContent = novel.title;
      head.querySelector("a").href = `/novels/${novel.id}`;
      const meta = document.createElement("p");
      meta.className = "outcome-meta";
      meta.innerHTML = '<span class="outcome-file"></span> · <span class="outcome-encoding"></span> · ' +
        '<span class="outcome-chars"></span>자 · <span class="outcome-sentences"></span> · 대사 <span class="outcome-dialogue"></span>';
      meta.querySelector(".outcome-file").textContent = `${novel.original_filename} (${size(novel.size_bytes)})`;
      meta.querySelector(".outcome-encoding").textContent = ENCODINGS[novel.encoding] || novel.encoding.toUpperCase();
      meta.querySelector(".outcome-chars").textContent = number(novel.chars);
      meta.querySelector(".outcome-dialogue").textContent = `${(novel.dialogue_share * 100).toFixed(1)}%`;
      const sentences = meta.querySelector(".outcome-sentences");
      const showSentences = (n) => setText(sentences, n === null ? "문장 세는 중…" : `${number(n)}문장`);
      showSentences(novel.sentences);
      if (novel.sentences === null) waitForSentences(novel.id, (counted) => showSentences(counted.sentences));
      const details = document.createElement("details");
      details.innerHTML = '<summary>미리 보기</summary><p class="preview"></p>';
      details.querySelector(".preview").textContent = novel.preview;
      li.append(meta, details);
    }

    function refused(li, message, existing) {
      li.dataset.state = "refused";
      setText(li.querySelector(".outcome-verdict"), "올리지 못했습니다");
      const text = document.createElement("p");
      text.className = "outcome-message";
      text.textContent = message;
      if (existing) {
        const link = document.createElement("a");
        link.href = `/novels/${existing.id}`;
        link.textContent = "이미 있는 소설 보기";
        text.append(" ", link);
      }
      li.append(text);
    }

    async function send(entry, li) {
      const body = new FormData();
      body.append("file", entry.file);
      body.append("title", entry.title.value);
      body.append("author", entry.author.value);
      body.append("licence", entry.licence.value);
      for (let attempt = 0; ; attempt += 1) {
        try {
          accepted(li, await call("/api/v1/novels", { method: "POST", body }));
          return true;
        } catch (e) {
          // Many files in a row can meet the write limit: wait as the server asks, then go on.
          if (e.status === 429 && attempt < 3) {
            const wait = Math.min(60, Math.max(1, e.retryAfter || 5));
            setText(li.querySelector(".outcome-verdict"), `요청이 많아 ${wait}초 뒤에 다시 올립니다…`);
            await sleep(wait * 1000);
            setText(li.querySelector(".outcome-verdict"), "올리는 중…");
            continue;
          }
          refused(li, e.message, e.body && e.body.error && e.body.error.novel);
          return false;
        }
      }
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (busy) return;
      setText(error, "");
      if (!chosen.length) { error.textContent = "올릴 파일을 골라 주세요."; return; }
      let missing = null;
      for (const entry of chosen) {
        const blank = [[entry.author, "지은이"], [entry.licence, "저작권"]].filter(([field]) => !field.value.trim());
        const what = { 1: blank.length && (blank[0][1] === "지은이" ? "지은이를" : "저작권을"), 2: "지은이와 저작권을" }[blank.length];
        setText(entry.li.querySelector(".file-error"), blank.length ? `${what} 적어 주세요.` : "");
        if (blank.length && !missing) missing = blank[0][0];
      }
      if (missing) {
        error.textContent = "지은이와 저작권은 파일마다 적어야 합니다.";
        missing.focus();
        return;
      }
      const batch = chosen;
      chosen = [];
      fileList.replaceChildren();
      showChosen();
      busy = true;
      button.disabled = true;
      setText(button, "올리는 중…");
      results.replaceChildren();
      $("upload-result").hidden = false;
      $("upload-result").scrollIntoView({ behavior: "smooth", block: "start" });
      let done = 0, ok = 0;
      // One file after another: each answer is its own, and the server is not flooded.
      for (const entry of batch) {
        setText(summary, `${batch.length}개 가운데 ${done + 1}번째를 올리는 중…`);
        const li = outcomeRow(entry.file);
        if (entry.file.size > maxBytes) refused(li, `파일이 너무 큽니다. ${form.dataset.limit}까지 올릴 수 있습니다.`);
        else if (await send(entry, li)) ok += 1;
        done += 1;
      }
      const failed = batch.length - ok;
      setText(summary, failed === 0 ? `${batch.length}개 파일을 모두 올렸습니다. 문장 수는 잠시 뒤에 나타납니다.`
        : ok === 0 ? `${batch.length}개 파일을 하나도 올리지 못했습니다. 아래에서 까닭을 보세요.`
          : `${batch.length}개 가운데 ${ok}개를 올렸고, ${failed}개는 올리지 못했습니다.`);
      busy = false;
      button.disabled = false;
      showChosen();
    });
  }

  // --- a story's training set: my vote, and everyone's votes as they come ---
  const storyNovels = $("story-novels");
  if (storyNovels) {
    const storyId = storyNovels.dataset.storyId;
    const path = `/api/v1/stories/${storyId}/training-set`;
    const tallyPath = `${path}/votes`;
    const POLL_MS = 4000;
    let etag = null, timer = null, failures = 0;

    function show(item, entry, quorum) {
      setText(item.querySelector(".vote-count"), `${entry.votes} / ${quorum}표`);
      const badge = item.querySelector(".badge.in-set");
      if (badge.hidden === entry.in_training_set) badge.hidden = !entry.in_training_set;
      item.classList.toggle("in-training-set", entry.in_training_set);
      const button = item.querySelector("button.training-vote");
      if (button && !button.disabled && entry.my_vote !== undefined) {
        button.dataset.voted = entry.my_vote ? "1" : "0";
        button.classList.toggle("mine", entry.my_vote);
        setText(button, entry.my_vote ? "내 표 ✓ (거두기)" : "이 소설을 배우자");
      }
    }

    function applyTally(data) {
      setText($("quorum"), String(data.quorum));
      const byNovel = new Map(data.novels.map((entry) => [String(entry.novel_id), entry]));
      for (const item of storyNovels.parentElement.querySelectorAll(".novel[data-novel-id]")) {
        show(item, byNovel.get(item.dataset.novelId) || { votes: 0, my_vote: false, in_training_set: false }, data.quorum);
      }
    }

    async function refresh() {
      clearTimeout(timer);
      if (document.hidden) return;  // resumes when the tab is shown again
      try {
        const headers = { Accept: "application/json" };
        if (etag) headers["If-None-Match"] = etag;
        const response = await fetch(tallyPath, { credentials: "same-origin", headers, cache: "no-store" });
        if (response.status === 200) {
          etag = response.headers.get("ETag");
          applyTally(await response.json());
        } else if (response.status !== 304) {
          throw new Error(String(response.status));
        }
        failures = 0;
      } catch (e) {
        failures += 1;
      }
      timer = setTimeout(refresh, failures ? Math.min(60000, POLL_MS * 2 ** failures) : POLL_MS);
    }

    for (const el of storyNovels.querySelectorAll(".js-live")) el.hidden = false;
    document.addEventListener("visibilitychange", () => {
      if (document.hidden) clearTimeout(timer);
      else refresh();
    });
    timer = setTimeout(refresh, POLL_MS);

    for (const button of storyNovels.parentElement.querySelectorAll("button.training-vote")) {
      button.addEventListener("click", async () => {
        const item = button.closest("[data-novel-id]");
        $("vote-error").textContent = "";
        button.disabled = true;
        try {
          const result = await call(path, {
            method: "POST", headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ novel_id: Number(item.dataset.novelId), voted: button.dataset.voted !== "1" }),
          });
          button.disabled = false;
          show(item, { votes: result.votes, my_vote: result.voted, in_training_set: result.in_training_set }, result.quorum);
        } catch (e) {
          $("vote-error").textContent = e.message;
        } finally {
          button.disabled = false;
        }
      });
    }
  }
})();
