// The exercise's files: one tab and one CodeMirror editor per file, with the learner's text kept in
// localStorage so a reload, a crash or a closed tab loses nothing.
//
// The page renders each file as a plain <textarea> first; without CodeMirror (a script that failed to
// load) the textareas still work and everything else on the page goes on.

const MODES = [
  [/(^|\/)(Dockerfile|Containerfile)([.-][^/]*)?$|\.dockerfile$/i, "dockerfile"],
  [/\.ya?ml$/i, "yaml"],
  [/\.py$/i, "python"],
  [/\.(sh|bash)$/i, "shell"],
];
const SAVE_DELAY_MS = 250;

export function modeFor(name) {
  const found = MODES.find(([pattern]) => pattern.test(name));
  return found ? found[1] : null;
}

// The file the learner writes and the live lint checks: the Dockerfile, or a lab's commands.sh or compose.yaml.
export function isMainFile(name, mainFile = "Dockerfile") {
  return name === mainFile;
}

// Keep only the exercise's own files from a stored draft; a file the draft lacks starts from the starter.
export function mergeDraft(starter, draft) {
  const files = { ...starter };
  if (draft && typeof draft === "object") {
    for (const name of Object.keys(starter)) {
      if (typeof draft[name] === "string") files[name] = draft[name];
    }
  }
  return files;
}

export function sameFiles(a, b) {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...names].every((name) => (a[name] ?? "") === (b[name] ?? ""));
}

export class DraftStore {
  constructor(key, fallbackKey) {
    this.key = key;
    this.fallbackKey = fallbackKey;
    this.timer = null;
    this.available = true;
  }

  // A draft written before logging in is adopted by the account the first time it opens the exercise.
  load() {
    const own = this.read(this.key);
    if (own || this.key === this.fallbackKey) return own;
    const anonymous = this.read(this.fallbackKey);
    if (anonymous) this.remove(this.fallbackKey);
    return anonymous;
  }

  read(key) {
    try {
      const value = JSON.parse(window.localStorage.getItem(key) || "null");
      return value && typeof value.files === "object" ? value : null;
    } catch {
      this.available = false;
      return null;
    }
  }

  saveSoon(files) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.save(files()), SAVE_DELAY_MS);
    this.pending = files;
  }

  flush() {
    if (this.pending) this.save(this.pending());
    clearTimeout(this.timer);
    this.pending = null;
  }

  save(files) {
    try {
      window.localStorage.setItem(this.key, JSON.stringify({ files, savedAt: Date.now() }));
    } catch {
      this.available = false;
    }
  }

  clear() {
    clearTimeout(this.timer);
    this.pending = null;
    this.remove(this.key);
  }

  remove(key) {
    try {
      window.localStorage.removeItem(key);
    } catch {
      this.available = false;
    }
  }
}

export class FileEditors {
  constructor({ root, starter, drafts, lint, draftNote, mainFile = "Dockerfile" }) {
    this.root = root;
    this.mainFile = mainFile;
    this.starter = starter;
    this.drafts = drafts;
    this.lint = lint;
    this.draftNote = draftNote;
    this.tabs = [...root.querySelectorAll("[role=tab][data-file]")];
    this.editors = new Map();
  }

  init() {
    const draft = this.drafts.load();
    const files = mergeDraft(this.starter, draft?.files);
    for (const textarea of this.root.querySelectorAll("textarea[data-file]")) {
      const name = textarea.dataset.file;
      textarea.value = files[name] ?? "";
      this.editors.set(name, this.createEditor(textarea, name));
    }
    this.noteDraft(draft, files);
    this.bindTabs();
    window.addEventListener("pagehide", () => this.drafts.flush());
    return this;
  }

  createEditor(textarea, name) {
    const onChange = () => this.drafts.saveSoon(() => this.files());
    if (!window.CodeMirror) {
      textarea.addEventListener("input", onChange);
      return plainEditor(textarea);
    }
    const editor = window.CodeMirror.fromTextArea(textarea, this.editorOptions(name));
    editor.on("change", onChange);
    if (this.lint && isMainFile(name, this.mainFile)) editor.on("change", () => this.lint.pending());
    armEscapeHatch(editor);
    return codeMirrorEditor(editor);
  }

  editorOptions(name) {
    const mode = modeFor(name);
    const linted = Boolean(this.lint) && isMainFile(name, this.mainFile);
    return {
      mode,
      lineNumbers: true,
      indentUnit: mode === "yaml" ? 2 : 4,
      tabSize: 4,
      matchBrackets: true,
      styleActiveLine: true,
      screenReaderLabel: `${name}, code editor`,
      gutters: linted ? ["CodeMirror-lint-markers"] : [],
      lint: linted ? this.lint.options() : false,
      extraKeys: {
        Tab: (editor) => editor.execCommand(editor.somethingSelected() ? "indentMore" : "insertSoftTab"),
        "Shift-Tab": "indentLess",
      },
    };
  }

  noteDraft(draft, files) {
    if (!this.drafts.available) {
      this.showNote("This browser is not keeping drafts; copy your work somewhere safe before leaving.");
    } else if (draft && !sameFiles(files, this.starter)) {
      const when = new Date(draft.savedAt || Date.now()).toLocaleString();
      this.showNote(`Restored your work from ${when}. “Reset to starter” brings back the original files.`);
    }
  }

  showNote(text) {
    this.draftNote.textContent = text;
    this.draftNote.hidden = !text;
  }

  files() {
    const files = {};
    for (const [name, editor] of this.editors) files[name] = editor.getValue();
    return files;
  }

  setFiles(files) {
    for (const [name, editor] of this.editors) editor.setValue(files[name] ?? "");
    this.drafts.save(this.files());
  }

  resetToStarter() {
    for (const [name, editor] of this.editors) editor.setValue(this.starter[name] ?? "");
    this.drafts.clear();
    this.showNote("");
  }

  bindTabs() {
    this.tabs.forEach((tab, index) => {
      tab.addEventListener("click", () => this.select(tab.dataset.file, true));
      tab.addEventListener("keydown", (event) => this.tabKey(event, index));
    });
  }

  // Arrow keys, Home and End move between tabs (the WAI-ARIA tabs pattern).
  tabKey(event, index) {
    const last = this.tabs.length - 1;
    const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: last };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const target = this.tabs[(moves[event.key] + this.tabs.length) % this.tabs.length];
    this.select(target.dataset.file, false);
    target.focus();
  }

  select(name, focusEditor) {
    for (const tab of this.tabs) {
      const selected = tab.dataset.file === name;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      document.getElementById(tab.getAttribute("aria-controls")).hidden = !selected;
    }
    const editor = this.editors.get(name);
    if (!editor) return;
    editor.refresh();
    if (focusEditor) editor.focus();
  }

  jumpTo(name, line) {
    this.select(name, false);
    this.editors.get(name)?.focusLine(line);
  }
}

// Tab indents in the editor, so a keyboard user needs a way out: Esc, then Tab (or Shift-Tab) moves focus
// on as anywhere else on the page. A key map with `Tab: false` makes CodeMirror leave the key to the browser.
const LEAVE_KEYS = { Tab: false, "Shift-Tab": false };

function armEscapeHatch(editor) {
  let armed = false;
  const arm = (on) => {
    if (on === armed) return;
    armed = on;
    if (on) editor.addKeyMap(LEAVE_KEYS);
    else editor.removeKeyMap(LEAVE_KEYS);
  };
  editor.on("keydown", (_editor, event) => {
    if (event.key === "Escape") arm(true);
    else if (event.key !== "Tab" && event.key !== "Shift") arm(false);
  });
  editor.on("blur", () => arm(false));
}

function codeMirrorEditor(editor) {
  return {
    getValue: () => editor.getValue(),
    setValue: (text) => editor.setValue(text),
    refresh: () => editor.refresh(),
    focus: () => editor.focus(),
    focusLine: (line) => {
      editor.focus();
      editor.setCursor({ line: line - 1, ch: 0 });
      editor.scrollIntoView(null, 80);
    },
  };
}

function plainEditor(textarea) {
  return {
    getValue: () => textarea.value,
    setValue: (text) => {
      textarea.value = text;
    },
    refresh: () => {},
    focus: () => textarea.focus(),
    focusLine: (line) => {
      textarea.focus();
      const offset = textarea.value.split("\n").slice(0, line - 1).join("\n").length + (line > 1 ? 1 : 0);
      textarea.setSelectionRange(offset, offset);
    },
  };
}
