// The dashboard's only script: live status over server-sent events, and the forms.
"use strict";

const STAGES = ["plan", "characters", "locations", "outline", "scenes", "chapters", "harmonize", "export"];
const STOPPED = ["halted", "paused", "failed"];

async function send(method, url, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const e = data.error || { message: response.statusText, remedy: "" };
    throw new Error(e.message + (e.remedy ? ". " + e.remedy : ""));
  }
  return data;
}

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

function cellOf(text, span) {
  const td = el("td", text);
  td.colSpan = span;
  return td;
}

function rowOf(text, span) {  // a table's one row when it has nothing to list
  const tr = el("tr");
  tr.append(cellOf(text, span));
  return tr;
}

function timeline(report) {
  if (report.status === "completed") return STAGES.map(() => "done");
  const current = STAGES.indexOf(report.current_stage);
  return STAGES.map((_, i) =>
    i < current ? "done" : i > current ? "todo" : STOPPED.includes(report.status) ? "halted" : "current");
}

function renderBook(report, live) {
  const book = report.book_id;
  document.getElementById("title").textContent = report.title;
  const status = document.getElementById("status");
  status.textContent = report.status;
  status.className = "badge " + report.status;
  const running = document.getElementById("running");
  running.hidden = !live;
  running.textContent = report.running ? "writing" : "queued";
  document.getElementById("stage").textContent = report.current_stage || "";
  document.getElementById("progress").value = report.progress_percentage;
  document.getElementById("percent").textContent = Math.round(report.progress_percentage);
  const eta = report.estimated_completion;
  document.getElementById("eta").textContent = eta ? "ETA " + new Date(eta).toLocaleTimeString() : "";
  const error = document.getElementById("error");
  error.hidden = !report.error;
  error.textContent = report.error || "";
  const wait = report.provider_wait;
  const waiting = document.getElementById("provider-wait");
  waiting.hidden = !wait;
  waiting.textContent = wait
    ? `waiting for the provider: probe ${wait.probes + 1} at ${wait.next_probe_at}; it resumes by itself`
    : "";
  const warned = report.warnings.map((w) => {
    const tr = el("tr");
    const artifact = el("td");
    const link = el("a", w.artifact);
    link.href = `/api/books/${book}/artifacts/${w.artifact}`;
    artifact.append(link);
    const kept = (w.kept === "stand_in" ? "a stand-in" : "the best answer") + ": " + w.value.slice(0, 80);
    tr.append(el("td", w.stage), el("td", w.chapter || ""), el("td", w.scene || ""), artifact,
      el("td", w.field), el("td", w.check), el("td", kept));
    return tr;
  });
  if (warned.length) document.getElementById("warnings").replaceChildren(...warned);
  const states = timeline(report);
  document.querySelectorAll("#timeline li").forEach((li, i) => { li.className = states[i]; });
  const rows = report.chapters.map((c) => {
    const tr = el("tr");
    tr.dataset.chapter = c.number;
    tr.append(el("td", c.number));
    const title = el("td");
    const link = el("a", c.title);
    link.href = `/api/books/${book}/artifacts/chapter:${c.number}`;
    title.append(link);
    const state = el("td");
    state.append(el("span", c.status, "badge " + c.status));
    tr.append(title, state, el("td", `${c.word_count}/${c.target_words}`), el("td", c.retry_count));
    return tr;
  });
  document.getElementById("chapters").replaceChildren(...rows);
  document.getElementById("scenes").textContent =
    `scenes ${report.scenes_written}/${report.scenes_total} written, ${report.scenes_edited} edited`;
  document.getElementById("retries").textContent = retriesLine(report.retries);
  const llm = report.llm;
  document.getElementById("usage").textContent =
    `${llm.requests_sent} requests, ${llm.prompt_tokens}+${llm.completion_tokens} tokens, ` +
    `$${llm.cost_usd.toFixed(4)} · model ${report.model}`;
  document.getElementById("cost").textContent = costLine(report.cost);
  document.getElementById("review").hidden = !report.halted_at;
  document.getElementById("draft-note").hidden = report.status === "completed";
  document.getElementById("pause").disabled = !live && report.status !== "processing";
  document.getElementById("resume").disabled =
    live || report.status === "completed" || Boolean(report.halted_at);
  document.getElementById("retry").disabled = live || report.status !== "completed";
  document.getElementById("keep").disabled = live || !report.retries.failed_chapters.length;
}

function retriesLine(r) {
  const rate = r.judge_pass_rate === null ? "" : ` (${Math.round(100 * r.judge_pass_rate)}%)`;
  const tokens = Object.entries(r.tokens_by_level).map(([k, v]) => `${k} ${v}`).join(", ");
  const failed = r.failed_chapters.length ? ` · failed chapters: ${r.failed_chapters.join(", ")}` : "";
  const kept = r.accepted_chapters.length
    ? ` · kept as they are: ${r.accepted_chapters.join(", ")}` : "";
  return `judge: ${r.passed}/${r.verdicts} verdicts passed${rate} · retries: edit only ` +
    `${r.edit_only}, write only ${r.write_only}, full ${r.full_retry} · tokens by level: ` +
    `${tokens || "none yet"}${failed}${kept}`;
}

async function refreshIssues(book) {
  const stats = await send("GET", `/api/books/${book}/stats`);
  const rows = [];
  for (const c of stats.chapters.filter((c) => c.attempts.length)) {
    const levels = c.attempts.map((a) => a.level || "first").join(" → ");
    for (const i of c.issues.length ? c.issues : [null]) {
      const tr = el("tr");
      tr.dataset.chapter = c.chapter;
      tr.append(el("td", c.chapter), el("td", levels), el("td", c.score ?? ""));
      if (i) {
        for (const v of [i.attempt_level, i.scene || "", i.category, i.severity, i.evidence, i.note]) {
          tr.append(el("td", v));
        }
      } else {
        tr.append(cellOf("no issue", 6));
      }
      rows.push(tr);
    }
  }
  if (!rows.length) rows.push(rowOf("no verdict yet", 9));
  document.getElementById("issues").replaceChildren(...rows);
  const select = document.querySelector("#retry-form select[name=chapter]");
  const chosen = select.value;
  select.replaceChildren(...stats.chapters.map((c) => {
    const option = el("option", c.chapter);
    option.value = c.chapter;
    return option;
  }));
  if (chosen) select.value = chosen;
}

async function refreshFailedCalls(book) {
  const calls = await send("GET", `/api/books/${book}/errors`);
  const rows = calls.slice(-50).map((e) => {
    const tr = el("tr");
    for (const v of [e.started_at.slice(11, 19), e.stage, e.chapter || "", e.scene || "",
      e.provider, e.error_class, e.error_message || ""]) tr.append(el("td", v));
    return tr;
  });
  if (!rows.length) rows.push(rowOf("none", 7));
  document.getElementById("failed-calls").replaceChildren(...rows);
}

async function refreshRunsAndArtifacts(book) {
  const [runs, names] = await Promise.all([
    send("GET", `/api/runs?book_id=${book}`), send("GET", `/api/books/${book}/artifacts`)]);
  document.getElementById("runs").replaceChildren(...runs.map((r) => {
    const tr = el("tr");
    for (const v of [r.run_id, r.action, r.status, r.exit_code ?? ""]) tr.append(el("td", v));
    return tr;
  }));
  const links = names.filter((n) => !/^(draft|scene):/.test(n)).map((n) => {
    const a = el("a", n);
    a.href = `/api/books/${book}/artifacts/${n}`;
    return a;
  });
  document.getElementById("artifacts").replaceChildren(
    ...links.flatMap((a) => [a, document.createTextNode(" ")]));
}

function watchBook(section) {
  const book = section.dataset.book;
  let source = null;
  let failed = -1;
  let verdicts = null;
  let last = null;
  function connect() {
    if (source) source.close();
    source = new EventSource(`/api/books/${book}/events`);
    source.addEventListener("status", (event) => {
      const stage = last && last.current_stage + last.status;
      last = JSON.parse(event.data);
      renderBook(last, true);
      if (stage !== last.current_stage + last.status) refreshRunsAndArtifacts(book).catch(() => {});
      const judged = `${last.retries.verdicts}/${last.chapters.length}/${last.status}`;
      if (judged !== verdicts) {
        verdicts = judged;
        refreshIssues(book).catch(() => {});
      }
      const count = Object.values(last.llm.errors_by_class).reduce((a, b) => a + b, 0);
      if (count !== failed) {
        failed = count;
        refreshFailedCalls(book).catch(() => {});
      }
    });
    source.addEventListener("end", () => {
      source.close();
      source = null;
      if (last) renderBook(last, false);
      refreshRunsAndArtifacts(book).catch(() => {});
    });
  }
  section.querySelectorAll("button[data-action]").forEach((button) => {
    button.addEventListener("click", async () => {
      const message = document.getElementById("action-message");
      message.textContent = "";
      try {
        const data = await send("POST", `/api/books/${book}/${button.dataset.action}`);
        message.textContent = data.message || `${button.dataset.action}: queued`;
        connect();
      } catch (error) {
        message.textContent = error.message;
      }
    });
  });
  document.getElementById("retry-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const message = document.getElementById("action-message");
    message.textContent = "";
    const chapter = form.elements.chapter.value;
    const body = { level: form.elements.level.value, cascade: form.elements.cascade.checked };
    try {
      await send("POST", `/api/books/${book}/chapters/${chapter}/retry`, body);
      message.textContent = `chapter ${chapter}: retry (${body.level}) queued`;
      connect();
    } catch (error) {
      message.textContent = error.message;
    }
  });
  document.getElementById("keep").addEventListener("click", async () => {
    const message = document.getElementById("action-message");
    message.textContent = "";
    try {
      const report = await send("GET", `/api/books/${book}`);
      const chapters = report.retries.failed_chapters;
      const kept = await send("POST", `/api/books/${book}/approve`, { chapters });
      message.textContent = `kept chapter(s) ${chapters.join(", ")} as they are` +
        (kept.run_id ? "; the book goes on" : "");
      connect();
    } catch (error) {
      message.textContent = error.message;
    }
  });
  connect();
}

function setPath(target, path, value) {
  let node = target;
  for (const key of path.slice(0, -1)) node = node[key];
  node[path[path.length - 1]] = value;
}

function reviewForm(form) {
  const book = document.getElementById("review-page").dataset.book;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const original = JSON.parse(document.getElementById("artifact-data").textContent);
    const edited = structuredClone(original);
    form.querySelectorAll("[data-path]").forEach((input) => {
      const kind = input.dataset.kind;
      const value = kind === "bool" ? input.checked
        : kind === "number" ? Number(input.value)
        : kind === "nullable" ? (input.value === "" ? null : input.value)
        : input.value;
      setPath(edited, JSON.parse(input.dataset.path), value);
    });
    const changed = JSON.stringify(edited) !== JSON.stringify(original);
    const error = document.getElementById("review-error");
    error.textContent = "";
    try {
      await send("POST", `/api/books/${book}/approve`, changed ? { artifact: edited } : {});
      window.location.href = `/books/${book}`;
    } catch (e) {
      error.textContent = e.message;
    }
  });
}

function newBookForm(form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {};
    for (const input of form.querySelectorAll("input, textarea")) {
      if (input.type === "checkbox" || input.value === "") continue;
      body[input.name] = input.type === "number" ? Number(input.value) : input.value;
    }
    body.pause_at = [...form.querySelectorAll("input[name=pause_at]:checked")].map((i) => i.value);
    const error = document.getElementById("form-error");
    error.textContent = "";
    try {
      const started = await send("POST", "/api/books", body);
      window.location.href = `/books/${started.book_id}`;
    } catch (e) {
      error.textContent = e.message;
    }
  });
}

// The other jobs' forms: files go as multipart (the fields beside them as form fields),
// an adaptation as JSON; empty fields are left out, so the server's defaults apply.
function jobForm(form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = form.querySelector(".form-error");
    error.textContent = "";
    const init = { method: "POST", headers: {} };
    if (form.dataset.json) {
      const body = { pause_at: [] };
      for (const input of form.querySelectorAll("input, select")) {
        if (input.name === "pause_at") {
          if (input.checked) body.pause_at.push(input.value);
        } else if (input.value !== "") {
          body[input.name] = input.type === "number" ? Number(input.value) : input.value;
        }
      }
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    } else {
      const data = new FormData();
      for (const input of form.querySelectorAll("input, select, textarea")) {
        if (input.type === "file") {
          for (const file of input.files) data.append(input.name, file);
        } else if (input.type === "checkbox") {
          if (input.checked) data.append(input.name, input.value);
        } else if (input.value !== "") {
          data.append(input.name, input.value);
        }
      }
      init.body = data;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const response = await fetch(form.dataset.action, init);
      const data = await response.json().catch(() => ({}));
      if (!response.ok) {
        const e = data.error || { message: response.statusText, remedy: "" };
        throw new Error(e.message + (e.remedy ? ". " + e.remedy : ""));
      }
      window.location.href = `/books/${data.book_id}`;
    } catch (e) {
      error.textContent = e.message;
      button.disabled = false;
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form.job-form")) jobForm(form);
  const book = document.getElementById("book");
  if (book) watchBook(book);
  const review = document.getElementById("review-form");
  if (review) reviewForm(review);
  const form = document.getElementById("new-book");
  if (form) newBookForm(form);
});

function costLine(cost) {
  if (!cost || cost.tokens_per_1k_words === null) return "";
  const pct = (x) => `${Math.round(100 * x)}%`;
  const roles = Object.entries(cost.role_share).map(([k, v]) => `${k} ${pct(v)}`).join(", ");
  return `per 1,000 words: ${cost.requests_per_1k_words} requests, ` +
    `${cost.tokens_per_1k_words} tokens · refused: ${pct(cost.refused_requests_share)} of ` +
    `the requests · of the tokens: refused answers ` +
    `${pct(cost.refused_share)}, retries ${pct(cost.retry_share)}, ${roles}`;
}
