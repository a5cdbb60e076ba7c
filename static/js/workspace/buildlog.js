// The live build log: coloured output, following the end unless the learner scrolled up, and the
// current build step read from BuildKit's plain progress lines.

import { appendAnsi, newAnsiState } from "./ansi.js";

// "#7 [build 2/5] RUN pip install -r requirements.txt": vertex 7, stage "build", step 2 of 5.
const STEP_LINE = /^#(\d+) \[(?:(\S+) )?(\d+)\/(\d+)\] (.+)$/;
const CACHED_LINE = /^#(\d+) CACHED\s*$/;
// A lab's log shows each command as a terminal would: "$ docker run -d --name web ...".
const COMMAND_LINE = /^\$ (.+)$/;
const COLOUR_CODES = /\x1b\[[0-9;]*m/g;
// Within this many pixels of the bottom counts as "at the end", so rounding never stops the follow.
const BOTTOM_SLACK = 24;

export function parseStep(line) {
  const match = STEP_LINE.exec(line.replace(COLOUR_CODES, "").trim());
  if (!match) return null;
  return {
    vertex: Number(match[1]),
    stage: match[2] || "",
    index: Number(match[3]),
    total: Number(match[4]),
    instruction: match[5],
  };
}

// Split a log event into runs of output lines and single command lines ("$ docker ..."), in order.
export function splitCommands(text) {
  const parts = [];
  for (const line of text.split("\n")) {
    const command = COMMAND_LINE.test(line);
    const last = parts[parts.length - 1];
    if (!command && last && !last.command) last.text += `\n${line}`;
    else parts.push({ command, text: line });
  }
  return parts;
}

export function describeStep(step, cached) {
  const stage = step.stage ? ` of stage ${step.stage}` : "";
  return `Step ${step.index}/${step.total}${stage}: ${step.instruction}${cached ? " (cached)" : ""}`;
}

export class LogPanel {
  constructor({ log, jump, step }) {
    this.log = log;
    this.jump = jump;
    this.stepView = step;
    this.follow = true;
    this.lastTop = 0;
    this.log.addEventListener("scroll", () => this.onScroll());
    this.jump.addEventListener("click", () => this.followNow());
    this.reset();
  }

  reset() {
    this.log.textContent = "";
    this.ansi = newAnsiState();
    this.current = null;
    this.cached = new Set();
    this.stepView.hidden = true;
    this.stepView.textContent = "";
    this.followNow();
  }

  // `text` is one log event: whole lines joined by "\n". A lab's command lines ("$ docker ...") stand out.
  append(text) {
    for (const part of splitCommands(text)) {
      if (part.command) {
        const span = document.createElement("span");
        span.className = "ws-log-command";
        span.textContent = `${part.text}\n`;
        this.log.append(span);
      } else {
        appendAnsi(this.log, `${part.text}\n`, this.ansi);
      }
    }
    for (const line of text.split("\n")) this.noteStep(line);
    if (this.follow) this.scrollToEnd();
    else this.jump.hidden = false;
  }

  noteStep(line) {
    const command = COMMAND_LINE.exec(line.replace(COLOUR_CODES, "").trim());
    if (command) {
      this.current = { command: command[1] };
      this.stepView.hidden = false;
      this.stepView.textContent = `Running: ${command[1]}`;
      return;
    }
    const step = parseStep(line);
    if (step) {
      this.current = step;
    } else {
      const cached = CACHED_LINE.exec(line.trim());
      if (!cached) return;
      this.cached.add(Number(cached[1]));
    }
    if (!this.current || this.current.command) return;
    this.stepView.hidden = false;
    this.stepView.textContent = describeStep(this.current, this.cached.has(this.current.vertex));
  }

  finishStep(message) {
    if (this.current) this.stepView.textContent = message;
  }

  text() {
    return this.log.textContent;
  }

  onScroll() {
    const top = this.log.scrollTop;
    const atEnd = top + this.log.clientHeight >= this.log.scrollHeight - BOTTOM_SLACK;
    // Only a move up is the learner's doing: following the end only ever scrolls down.
    if (atEnd) this.follow = true;
    else if (top < this.lastTop) this.follow = false;
    this.lastTop = top;
    this.jump.hidden = this.follow;
  }

  followNow() {
    this.follow = true;
    this.jump.hidden = true;
    this.scrollToEnd();
  }

  scrollToEnd() {
    this.log.scrollTop = this.log.scrollHeight;
    this.lastTop = this.log.scrollTop;
  }
}
