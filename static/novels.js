// Novel pages: drag-and-drop upload that posts to the API and shows the result in place, the
// sentence count appearing once the worker has counted, and training-set votes per story.
// Without this script the upload form still posts as a plain form.
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  const ENCODINGS = { "utf-8": "UTF-8", "utf-8-sig": "UTF-8 (BOM)", "utf-16": "UTF-16", "utf-32": "UTF-32", cp949: "EUC-KR (CP949)" };
  const number = (n) => n.toLocaleString("ko-KR");
  const size = (bytes) => bytes < 1048576 ? `${Math.round(bytes / 1024)}KB` : `${(bytes / 1048576).toFixed(1).replace(/\.0$/, "")}MB`;

  async function call(path, options) {
    const response = await fetch(path, { credentials: "same-origin", ...options,
      headers: { "X-CSRFToken": csrf, Accept: "application/json", ...(options && options.headers) } });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error((data.error && data.error.message) || `요청이 실패했습니다 (${response.status}).`);
      error.body = data;
      throw error;
    }
    return data;
  }

  function fillStats(novel) {
    const box = $("novel-stats");
    box.dataset.novelId = novel.id;
    $("stat-encoding").textContent = ENCODINGS[novel.encoding] || novel.encoding.toUpperCase();
    $("stat-size").textContent = size(novel.size_bytes);
    $("stat-chars").textContent = number(novel.chars);
    $("stat-dialogue").textContent = `${(novel.dialogue_share * 100).toFixed(1)}%`;
    const sentences = $("stat-sentences");
    sentences.textContent = novel.sentences === null ? "세는 중…" : number(novel.sentences);
    sentences.dataset.pending = novel.sentences === null ? "1" : "0";
  }

  // The worker counts sentences after the upload (about a minute for 5 MB): ask until it has.
  function waitForSentences(novelId, tries = 0) {
    if (tries > 120) return;
    setTimeout(async () => {
      try {
        const novel = await call(`/api/v1/novels/${novelId}`);
        if (novel.sentences !== null) { fillStats(novel); return; }
      } catch (e) { /* try again */ }
      waitForSentences(novelId, tries + 1);
    }, Math.min(5000, 1000 + 250 * tries));
  }

  const form = $("upload-form");
  if (form) {
    const input = $("file-input"), zone = $("dropzone"), label = $("dropzone-text");
    const maxBytes = Number(form.dataset.maxBytes);
    const chosen = () => input.files && input.files[0];
    const showChosen = () => {
      const file = chosen();
      label.textContent = file ? `${file.name} (${size(file.size)})` : "여기에 .txt 파일을 끌어다 놓거나 눌러서 고르세요";
      zone.classList.toggle("has-file", Boolean(file));
      if (file && !form.elements.title.value) form.elements.title.value = file.name.replace(/\.txt$/i, "");
    };
    input.addEventListener("change", showChosen);
    for (const type of ["dragenter", "dragover"])
      zone.addEventListener(type, (event) => { event.preventDefault(); zone.classList.add("dragging"); });
    for (const type of ["dragleave", "drop"])
      zone.addEventListener(type, () => zone.classList.remove("dragging"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      if (event.dataTransfer.files.length) { input.files = event.dataTransfer.files; showChosen(); }
    });

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = $("upload-error");
      error.textContent = "";
      const file = chosen();
      if (!file) { error.textContent = "올릴 파일을 골라 주세요."; return; }
      if (file.size > maxBytes) { error.textContent = `파일이 너무 큽니다. ${form.dataset.limit}까지 올릴 수 있습니다.`; return; }
      const button = $("upload-button");
      button.disabled = true;
      button.textContent = "올리는 중…";
      try {
        const novel = await call("/api/v1/novels", { method: "POST", body: new FormData(form) });
        fillStats(novel);
        const link = $("result-link");
        link.textContent = novel.title;
        link.href = `/novels/${novel.id}`;
        $("result-preview").textContent = novel.preview;
        $("upload-result").hidden = false;
        form.reset();
        showChosen();
        if (novel.sentences === null) waitForSentences(novel.id);
      } catch (e) {
        error.textContent = e.message;
        const existing = e.body && e.body.error && e.body.error.novel;
        if (existing) {
          const link = document.createElement("a");
          link.href = `/novels/${existing.id}`;
          link.textContent = " 이미 있는 소설 보기";
          error.append(link);
        }
      } finally {
        button.disabled = false;
        button.textContent = "올리기";
      }
    });
  }

  // A novel's own page, opened right after a plain-form upload: the count arrives later.
  const sentences = $("stat-sentences");
  if (!form && sentences && sentences.dataset.pending === "1") waitForSentences($("novel-stats").dataset.novelId);

  const storyNovels = $("story-novels");
  if (storyNovels) {
    const storyId = storyNovels.dataset.storyId;
    for (const button of document.querySelectorAll("button.training-vote")) {
      button.addEventListener("click", async () => {
        const item = button.closest("[data-novel-id]");
        $("vote-error").textContent = "";
        button.disabled = true;
        try {
          const result = await call(`/api/v1/stories/${storyId}/training-set`, {
            method: "POST", headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ novel_id: Number(item.dataset.novelId), voted: button.dataset.voted !== "1" }),
          });
          button.dataset.voted = result.voted ? "1" : "0";
          button.classList.toggle("mine", result.voted);
          button.textContent = result.voted ? "내 표 ✓ (거두기)" : "이 소설을 배우자";
          item.querySelector(".vote-count").textContent = `${result.votes} / ${result.quorum}표`;
          item.querySelector(".badge.in-set").hidden = !result.in_training_set;
          item.classList.toggle("in-training-set", result.in_training_set);
        } catch (e) {
          $("vote-error").textContent = e.message;
        } finally {
          button.disabled = false;
        }
      });
    }
  }
})();
