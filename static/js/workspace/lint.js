// Live lint of the Dockerfile while the learner types: markers in the editor's gutter and a list under it.
// CodeMirror's lint addon does the debouncing and drops answers for text that has changed since.

import { postJson } from "./api.js";

export const LINT_DELAY_MS = 600;
const SEVERITY = { error: "error", warning: "warning" };

export function severityOf(level) {
  return SEVERITY[level] || "info";
}

// The server's problems ({line, rule, level, message}) as CodeMirror annotations. Line numbers start at 1;
// a problem about the whole file (no line) is shown on the first line.
export function toAnnotations(problems, lineCount) {
  return problems.map((problem) => {
    const line = Math.min(Math.max(Number(problem.line) || 1, 1), Math.max(lineCount, 1)) - 1;
    const rule = problem.rule ? `${problem.rule}: ` : "";
    return {
      from: { line, ch: 0 },
      to: { line, ch: 1e6 },
      message: `${rule}${problem.message}`,
      severity: severityOf(problem.level),
    };
  });
}

export function summarise(problems, kind = "dockerfile") {
  if (problems.length === 0) return kind === "dockerfile" ? "No lint problems found." : "Nothing the sandbox would refuse.";
  const counts = {};
  for (const problem of problems) counts[problem.level || "info"] = (counts[problem.level || "info"] || 0) + 1;
  const parts = Object.entries(counts).map(([level, count]) => `${count} ${level}${count === 1 ? "" : "s"}`);
  return `${problems.length} lint problem${problems.length === 1 ? "" : "s"}: ${parts.join(", ")}.`;
}

export class LiveLint {
  // kind: "dockerfile", or a lab's "commands" / "compose", whose file is checked against the sandbox's rules.
  constructor({ url, list, status, onJump, kind = "dockerfile", fileName = "Dockerfile" }) {
    this.url = url;
    this.kind = kind;
    this.fileName = fileName;
    this.list = list;
    this.status = status;
    this.onJump = onJump;
    this.inFlight = null;
    // CodeMirror calls this with the text and a callback, after LINT_DELAY_MS of quiet typing.
    this.getAnnotations = (text, update, _options, editor) => this.run(text, update, editor);
  }

  options() {
    return { getAnnotations: this.getAnnotations, async: true, delay: LINT_DELAY_MS };
  }

  async run(text, update, editor) {
    if (this.inFlight) this.inFlight.abort();
    if (!text.trim()) {
      this.show([], `${this.fileName === "Dockerfile" ? "The Dockerfile" : this.fileName} is empty.`);
      update([]);
      return;
    }
    const controller = new AbortController();
    this.inFlight = controller;
    let answer;
    try {
      const body = this.kind === "dockerfile" ? { dockerfile: text } : { kind: this.kind, text };
      answer = await postJson(this.url, body, { signal: controller.signal });
    } catch {
      return; // aborted: newer text is being checked
    }
    if (this.inFlight === controller) this.inFlight = null;
    // An answer about text the learner has changed since is stale; a newer check is on its way.
    if (editor && editor.getValue() !== text) return;
    if (!answer.ok) {
      this.show([], answer.error, true);
      update([]);
      return;
    }
    const problems = Array.isArray(answer.data?.problems) ? answer.data.problems : [];
    this.show(problems, summarise(problems, this.kind));
    update(toAnnotations(problems, editor ? editor.lineCount() : 1e6));
  }

  // Called on every edit: the list describes older text until the next answer arrives.
  pending() {
    this.status.textContent = "Checking…";
    this.status.classList.remove("is-error");
    this.list.classList.add("is-stale");
  }

  show(problems, message, isError = false) {
    this.list.classList.remove("is-stale");
    this.status.textContent = message;
    this.status.classList.toggle("is-error", isError);
    this.list.replaceChildren(...problems.map((problem) => this.item(problem)));
  }

  item(problem) {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = `ws-lint-item ws-lint-${severityOf(problem.level)}`;
    const where = document.createElement("span");
    where.className = "ws-lint-where";
    where.textContent = problem.line ? `Line ${problem.line}` : "File";
    const level = document.createElement("span");
    level.className = "ws-lint-level";
    level.textContent = problem.level || "info";
    const rule = document.createElement("code");
    rule.textContent = problem.rule || "";
    const message = document.createElement("span");
    message.className = "ws-lint-message";
    message.textContent = problem.message || "";
    button.append(where, level, rule, message);
    button.addEventListener("click", () => this.onJump(Number(problem.line) || 1));
    li.append(button);
    return li;
  }
}
