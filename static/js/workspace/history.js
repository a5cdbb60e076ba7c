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

export class HistoryView {
  constructor({ list, status, starter, onShow, onRestore }) {
    this.list = list;
    this.status = status;
    this.starter = starter;
    this.onShow = onShow;
    this.onRestore = onRestore;
    this.current = null;
  }

  render(submissions) {
    this.status.textContent = submissions.length
      ? `${submissions.length === 1 ? "One attempt" : `${submissions.length} attempts`} so far.`
      : "No attempts yet.";
    this.list.replaceChildren(...submissions.map((item, index) => this.row(item, submissions[index + 1])));
    this.markCurrent(this.current);
  }

  showError(message) {
    this.status.textContent = message;
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

  row(item, previous) {
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
    row.append(head, actions, this.diffDetails(item, previous));
    return row;
  }

  diffDetails(item, previous) {
    const details = element("details", "ws-attempt-diff");
    let base = previous?.files;
    let label = previous ? `Changes since attempt ${previous.attempt}` : "Changes from the starter files";
    if (!previous && item.attempt > 1) {
      base = null;
      label = "Changes (the attempt before is no longer listed)";
    }
    details.append(element("summary", "", label));
    // Diffs are worked out when first opened: most are never looked at.
    details.addEventListener("toggle", () => {
      if (details.open && details.childElementCount === 1) details.append(this.diffBody(base ?? this.starter, item.files));
    });
    return details;
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
