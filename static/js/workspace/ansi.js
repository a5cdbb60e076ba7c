// ANSI colour codes in build output, rendered safely.
//
// Build output is whatever the learner's RUN steps print, so it is hostile text. It is never parsed as
// HTML: parseAnsi splits it into plain-text segments and a set of class names taken from a fixed list,
// and appendAnsi puts each segment into the page with textContent (the browser escapes it). No colour
// value from the output ever reaches a style attribute.

const SGR = /\x1b\[([0-9;]*)m/g;
// Every other escape sequence (cursor moves, erase line, OSC titles) is dropped: a log is not a terminal.
const OTHER_ESCAPES = /\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b\[[0-9;?]*[A-Za-ln-z]|\x1b[()][A-Za-z0-9]|\x1b[=>78]/g;
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]/g;

export function newAnsiState() {
  return { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false };
}

// Split text into [{text, classes}] following SGR codes; `state` carries colours across calls, because one
// colour may span several log events.
export function parseAnsi(text, state) {
  const clean = text.replace(OTHER_ESCAPES, "").replace(/\r\n?/g, "\n").replace(CONTROL, "");
  const segments = [];
  let last = 0;
  for (const match of clean.matchAll(SGR)) {
    if (match.index > last) segments.push({ text: clean.slice(last, match.index), classes: classesOf(state) });
    applySgr(state, match[1]);
    last = match.index + match[0].length;
  }
  // A lone ESC left over (a cut-off sequence) is dropped with the rest of the control characters.
  const rest = clean.slice(last).replace(/\x1b/g, "");
  if (rest) segments.push({ text: rest, classes: classesOf(state) });
  return segments;
}

export function appendAnsi(parent, text, state) {
  const fragment = document.createDocumentFragment();
  for (const segment of parseAnsi(text, state)) {
    if (segment.classes.length === 0) {
      fragment.append(document.createTextNode(segment.text));
    } else {
      const span = document.createElement("span");
      span.className = segment.classes.join(" ");
      span.textContent = segment.text;
      fragment.append(span);
    }
  }
  parent.append(fragment);
}

function applySgr(state, params) {
  const codes = params === "" ? [0] : params.split(";").map((code) => Number.parseInt(code || "0", 10));
  for (let i = 0; i < codes.length; i += 1) {
    const code = codes[i];
    if (code === 38 || code === 48) {
      // 256-colour and true-colour forms: skip their arguments; the default colour stays readable.
      i += codes[i + 1] === 5 ? 2 : codes[i + 1] === 2 ? 4 : 0;
    } else {
      applyCode(state, code);
    }
  }
}

function applyCode(state, code) {
  if (code === 0) Object.assign(state, newAnsiState());
  else if (code === 1) state.bold = true;
  else if (code === 2) state.dim = true;
  else if (code === 3) state.italic = true;
  else if (code === 4) state.underline = true;
  else if (code === 22) state.bold = state.dim = false;
  else if (code === 23) state.italic = false;
  else if (code === 24) state.underline = false;
  else if (code >= 30 && code <= 37) state.fg = code - 30;
  else if (code >= 90 && code <= 97) state.fg = code - 90 + 8;
  else if (code === 39) state.fg = null;
  else if (code >= 40 && code <= 47) state.bg = code - 40;
  else if (code >= 100 && code <= 107) state.bg = code - 100 + 8;
  else if (code === 49) state.bg = null;
}

function classesOf(state) {
  const classes = [];
  if (state.fg !== null) classes.push(`ansi-fg-${state.fg}`);
  if (state.bg !== null) classes.push(`ansi-bg-${state.bg}`);
  if (state.bold) classes.push("ansi-bold");
  if (state.dim) classes.push("ansi-dim");
  if (state.italic) classes.push("ansi-italic");
  if (state.underline) classes.push("ansi-underline");
  return classes;
}
