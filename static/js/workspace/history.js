// The learner's attempts at this exercise, newest first, each with what changed since the attempt before
// (the first attempt is compared with the starter files). Diffs come from the vendored jsdiff library.

const CONTEXT_LINES = 3;
const STATUS_TEXT = { queued: "queued", running: "building", passed: "passed", failed: "failed", error: "error" };

// A line diff of two texts as [{type: " " | "+" | "-", text}], long unchanged runs folded to "…" rows.
export function diffLines(before, after) {
  const lines = [];
  for (const part of window.Diff.diffLines(before ?? "", after ?? "")) {
    const type = part.added ? "+" : part.removed ? "-" : " ";
    const texts = part.value.replace(/\n$/, "").split("\n");
    for (const text of texts) lines.push({ type, text });
  }
  return foldUnchanged(lines);
}

export function foldUnchanged(lines) {
  const folded = [];
  let run = [];
  const flush = (atStart, atEnd) => {
    const keepHead = atStart ? 0 : CONTEXT_LINES;
    const keepTail = atEnd ? 0 : CONTEXT_LINES;
    if (run.length > keepHead + keepTail + 1) {
      folded.push(...run.slice(0, keepHead));
      folded.push({ type: "…", text: `${run.length - keepHead - keepTail} unchanged lines` });
      folded.push(...run.slice(run.length - keepTail));
    } else {
      folded.push(...run);
    }
    run = [];
  };
  let seenChange = false;
  for (const line of lines) {
    if (line.type === " ") {
      run.push(line);
      continue;
    }
    flush(!seenChange, false);
    seenChange = true;
    folded.push(line);
  }
  flush(!seenChange, true);
  return folded;
}

// Per file: {name, change: "added" | "removed" | "changed", lines}; unchanged files are left out.
export function diffFiles(before, after) {
  const names = [...new Set([...Object.keys(before || {}), ...Object.keys(after || {})])].sort();
  const changes = [];
  for (const name of names) {
    const old = before?.[name];
    const now = after?.[name];
    if (old === now) continue;
    const change = old === undefined ? "added" : now === undefined ? "removed" : "changed";
    changes.push({ name, change, lines: diffLines(old ?? "", now ?? "") });
  }
  return changes;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

// The history comes a page at a time and without files; an attempt's files are fetched when its diff is opened
// or its files are loaded into the editor (each once, then kept).
export class HistoryView {
  constructor({ list, status, starter, onShow, onRestore, fetchJson }) {
    this.list = list;
    this.status = status;
    this.starter = starter;
    this.onShow = onShow;
    this.onRestore = onRestore;
    this.fetchJson = fetchJson;
    this.current = null;
    this.items = [];
    this.total = 0;
    this.next = null;
    this.filesByUrl = new Map();
    this.more = element("button", "link-action ws-history-more", "Show older attempts");
    this.more.type = "button";
    this.more.hidden = true;
    this.more.addEventListener("click", () => this.loadMore());
    this.list.after(this.more);
  }

  // `page` is one answer of the history endpoint: {submissions, total, next}. The first page replaces what is
  // shown; later pages (append) go below it.
  render(page, { append = false } = {}) {
    this.items = append ? [...this.items, ...page.submissions] : [...page.submissions];
    this.total = page.total ?? this.items.length;
    this.next = page.next || null;
    const shown = this.items.length;
    this.status.textContent = this.total
      ? `${this.total === 1 ? "One attempt" : `${this.total} attempts`} so far${shown < this.total ? `; the latest ${shown} are shown` : ""}.`
      : "No attempts yet.";
    this.list.replaceChildren(...this.items.map((item) => this.row(item)));
    this.more.hidden = !this.next;
    this.markCurrent(this.current);
  }

  async loadMore() {
    if (!this.next) return;
    this.more.disabled = true;
    const answer = await this.fetchJson(this.next);
    this.more.disabled = false;
    if (!answer.ok) {
      this.showError(answer.error);
      return;
    }
    this.render(answer.data, { append: true });
  }

  showError(message) {
    this.status.textContent = message;
  }

  // {ok, data: {files, files_pruned, previous_url, attempt}, error} for one attempt, fetched once.
  async files(item) {
    const url = item.files_url;
    if (!this.filesByUrl.has(url)) {
      const answer = await this.fetchJson(url);
      if (!answer.ok) return answer;
      this.filesByUrl.set(url, answer);
    }
    return this.filesByUrl.get(url);
  }

  markCurrent(id) {
    this.current = id;
    for (const row of this.list.children) {
      const isCurrent = Number(row.dataset.submission) === id;
      row.classList.toggle("is-current", isCurrent);
      if (isCurrent) row.setAttribute("aria-current", "true");
      else row.removeAttribute("aria-current");
    }
  }

  row(item) {
    const row = element("li", `ws-attempt ws-attempt-${item.status}`);
    row.dataset.submission = String(item.id);
    const head = element("div", "ws-attempt-head");
    const time = element("time", "ws-attempt-time", new Date(item.created_at).toLocaleString());
    time.dateTime = item.created_at;
    head.append(
      element("span", "ws-attempt-title", `Attempt ${item.attempt}`),
      element("span", `badge ws-badge-${item.status}`, STATUS_TEXT[item.status] || item.status),
      element("span", "ws-attempt-score", typeof item.score === "number" ? `${item.score}%` : ""),
      time,
    );
    const actions = element("div", "ws-attempt-actions");
    const show = element("button", "link-action", "Show build and checks");
    show.type = "button";
    show.addEventListener("click", () => this.onShow(item));
    const restore = element("button", "link-action", "Load these files into the editor");
    restore.type = "button";
    restore.addEventListener("click", () => this.onRestore(item));
    actions.append(show, restore);
    row.append(head, actions, this.diffDetails(item));
    return row;
  }

  diffDetails(item) {
    const details = element("details", "ws-attempt-diff");
    const label = item.attempt > 1 ? `Changes since attempt ${item.attempt - 1}` : "Changes from the starter files";
    details.append(element("summary", "", label));
    // Diffs (and the files they need) are fetched when first opened: most are never looked at.
    let opened = false;
    details.addEventListener("toggle", async () => {
      if (!details.open || opened) return;
      opened = true;
      const body = element("div", "ws-diff");
      body.append(element("p", "help", "Loading the files…"));
      details.append(body);
      body.replaceWith(await this.diffFor(item));
    });
    return details;
  }

  async diffFor(item) {
    const mine = await this.files(item);
    if (!mine.ok) return this.note(mine.error);
    if (mine.data.files_pruned) return this.note("The files of this attempt are no longer kept.");
    let base = this.starter;
    let note = "";
    if (mine.data.previous_url) {
      const before = await this.files({ files_url: mine.data.previous_url });
      if (!before.ok) return this.note(before.error);
      if (before.data.files_pruned) return this.note("The files of the attempt before are no longer kept.");
      base = before.data.files;
    } else if (item.attempt > 1) {
      note = "The attempt before is no longer kept; these are the changes from the starter files.";
    }
    const body = this.diffBody(base, mine.data.files);
    if (note) body.prepend(element("p", "help", note));
    return body;
  }

  note(text) {
    const body = element("div", "ws-diff");
    body.append(element("p", "help", text));
    return body;
  }

  diffBody(before, after) {
    const body = element("div", "ws-diff");
    if (!window.Diff) {
      body.append(element("p", "help", "The diff viewer did not load; reload the page to see changes."));
      return body;
    }
    const changes = diffFiles(before, after);
    if (!changes.length) {
      body.append(element("p", "help", "No changes: the files were the same."));
      return body;
    }
    for (const file of changes) {
      body.append(element("p", "ws-diff-file", `${file.name} (${file.change})`));
      const pre = element("pre", "ws-diff-lines");
      for (const line of file.lines) {
        const kind = { "+": "add", "-": "del", " ": "same", "…": "fold" }[line.type];
        const prefix = line.type === "…" ? "  " : `${line.type} `;
        pre.append(element("span", `ws-diff-${kind}`, `${prefix}${line.text}\n`));
      }
      body.append(pre);
    }
    return body;
  }
}
