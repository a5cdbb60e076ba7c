// The exercise workspace: editor → submit → live build log → checklist, image and history.
// Plain ES modules, no build step; the pieces live in ./workspace/ and this file wires them to the page.

import { getJson, postJson } from "./workspace/api.js";
import { LogPanel } from "./workspace/buildlog.js";
import { DraftStore, FileEditors } from "./workspace/editor.js";
import { HistoryView } from "./workspace/history.js";
import { LiveLint } from "./workspace/lint.js";
import { ImageView, ResultsView } from "./workspace/results.js";
import { CLOSE_NOT_ALLOWED, SubmissionStream } from "./workspace/stream.js";

const FINISHED = new Set(["passed", "failed", "error"]);
// With no event for this long, the page asks the API whether events exist that the socket never delivered.
const STALL_MS = 30000;
const STALL_CHECK_EVERY_MS = 5000;
const RESULT_WORDS = { passed: "Passed", failed: "Finished: some checks failed", error: "Could not finish" };
// What the page says while a Dockerfile builds, or while a lab (commands.sh, compose.yaml) runs.
const BUILD_WORDS = {
  submit: "Build and check",
  loginFirst: "Log in or sign up to build your Dockerfile. Your text is kept in this browser.",
  running: "Building…",
  stopped: "The build stopped.",
  finished: "The build finished.",
};
const LAB_WORDS = {
  submit: "Run and check",
  loginFirst: "Log in or sign up to run your lab in the sandbox. Your text is kept in this browser.",
  running: "Running your lab…",
  stopped: "The lab stopped.",
  finished: "The lab finished; everything it made was removed.",
};

class Workspace {
  constructor(root, config) {
    this.root = root;
    this.config = config;
    this.stream = null;
    this.current = null;
    this.submitting = false;
    this.elapsedTimer = null;
    this.watchdog = null;
    this.stallMs = STALL_MS;
    const $ = (role) => root.querySelector(`[data-role="${role}"]`);
    this.$ = $;
    this.submitButton = root.querySelector("[data-action=submit]");
    this.retryButton = root.querySelector("[data-action=retry]");
    this.submitError = $("submit-error");
    this.mainFile = config.mainFile || "Dockerfile";
    this.isLab = (config.kind || "dockerfile") !== "dockerfile";
    this.words = this.isLab ? LAB_WORDS : BUILD_WORDS;
    this.lint = new LiveLint({
      url: config.urls.lint,
      list: $("lint-list"),
      status: $("lint-status"),
      onJump: (line) => this.editors.jumpTo(this.mainFile, line),
      kind: config.kind || "dockerfile",
      fileName: this.mainFile,
    });
    this.editors = new FileEditors({
      root,
      starter: config.starter,
      drafts: new DraftStore(config.draftKey, config.anonDraftKey),
      lint: this.lint,
      draftNote: $("draft-note"),
      mainFile: this.mainFile,
    });
    this.log = new LogPanel({ log: $("log"), jump: root.querySelector("[data-action=follow]"), step: $("build-step") });
    this.results = new ResultsView({
      summary: $("results-summary"),
      buildSummary: $("build-summary"),
      checks: $("checks"),
      next: $("next"),
    });
    this.image = new ImageView({
      section: $("image"),
      sizes: $("image-sizes"),
      layers: $("layers"),
      layersPart: $("layers-part"),
    });
    this.history = $("history")
      ? new HistoryView({
          list: $("history"),
          status: $("history-status"),
          starter: config.starter,
          onShow: (item) => this.open(item),
          onRestore: (item) => this.restore(item),
          fetchJson: (url) => getJson(url),
        })
      : null;
  }

  start() {
    this.editors.init();
    this.root.querySelector("[data-action=reset]").addEventListener("click", () => this.resetToStarter());
    this.submitButton?.addEventListener("click", () => this.submit());
    this.retryButton.addEventListener("click", () => this.stream?.retryNow());
    document.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        this.submit();
      }
    });
    if (this.config.loggedIn) this.openLatest();
  }

  // --- Editing -------------------------------------------------------------------------------------------

  resetToStarter() {
    const sure = window.confirm("Replace your files with the exercise's starter files? Your current text will be lost.");
    if (sure) this.editors.resetToStarter();
  }

  async restore(item) {
    const answer = await this.history.files(item);
    if (!answer.ok || answer.data.files_pruned) {
      this.history.showError(answer.ok ? `The files of attempt ${item.attempt} are no longer kept.` : answer.error);
      return;
    }
    const sure = window.confirm(`Replace the text in the editor with the files of attempt ${item.attempt}?`);
    if (sure) this.editors.setFiles(answer.data.files);
  }

  // --- Submitting ----------------------------------------------------------------------------------------

  async submit() {
    if (!this.config.loggedIn) {
      this.showSubmitError(this.words.loginFirst);
      return;
    }
    if (this.submitting) return;
    this.setSubmitting(true);
    this.editors.drafts.flush();
    const answer = await postJson(this.config.urls.submissions, {
      exercise: this.config.exercise,
      files: this.editors.files(),
    });
    this.setSubmitting(false);
    if (!answer.ok) {
      // The learner's text stays exactly as it was; only the message is shown.
      this.showSubmitError(answer.error);
      return;
    }
    this.watch({ id: answer.data.id, events_url: answer.data.events_url, attempt: null, created_at: new Date().toISOString() });
    // The history is refreshed once the build's stream is open: asked for at once, it queued behind nothing
    // but got in the way of the WebSocket's own handshake on the server, delaying the first log line.
    this.historyAfterConnect = true;
    // On a narrow screen the build panel is below the editor: bring it into view, keeping focus where it is.
    const reduced = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    this.$("build-state").scrollIntoView({ block: "nearest", behavior: reduced ? "auto" : "smooth" });
  }

  setSubmitting(busy) {
    this.submitting = busy;
    if (!this.submitButton) return;
    this.submitButton.disabled = busy;
    this.submitButton.textContent = busy ? "Sending…" : this.words.submit;
    if (busy) this.showSubmitError("");
  }

  showSubmitError(message) {
    this.submitError.textContent = message;
    this.submitError.hidden = !message;
  }

  // --- Watching one submission ---------------------------------------------------------------------------

  // After a reload the page picks up where it was: the build still in progress if there is one (its
  // whole log is replayed once), otherwise the latest attempt's results.
  async openLatest() {
    const submissions = await this.refreshHistory();
    if (!submissions || !submissions.length || this.current) return;
    this.open(submissions.find((item) => !item.finished) || submissions[0]);
  }

  open(item) {
    if (FINISHED.has(item.status)) this.showStored(item);
    else this.watch(item);
  }

  beginShowing(item) {
    this.stream?.stop();
    this.stream = null;
    clearInterval(this.watchdog);
    this.current = item;
    this.history?.markCurrent(item.id);
    this.$("build-label").textContent = item.attempt ? `· attempt ${item.attempt}` : "";
    this.log.reset();
    this.results.reset("Waiting for the checks…");
    this.image.reset();
    this.stopElapsed();
    this.$("elapsed").textContent = "";
  }

  watch(item) {
    this.beginShowing(item);
    this.lastStatus = "Connecting to the build…";
    this.setBuildState("queued", this.lastStatus);
    this.startElapsed(item.created_at);
    this.stream = new SubmissionStream(item.events_url, {
      onEvent: (event) => {
        this.lastEventAt = Date.now();
        this.handle(event, true);
      },
      onState: (state, detail) => this.streamState(state, detail),
      checkAccess: () => this.mayStillSee(item.id),
    }).start();
    this.startWatchdog(item.id);
  }

  // A build can be quiet for minutes (a long RUN step), so silence alone proves nothing; but if the server
  // has stored events this page never received, the socket is stuck and is replaced.
  startWatchdog(id) {
    this.lastEventAt = Date.now();
    clearInterval(this.watchdog);
    this.watchdog = setInterval(async () => {
      const stream = this.stream;
      if (!stream || stream.stopped || Date.now() - this.lastEventAt < this.stallMs) return;
      this.lastEventAt = Date.now();
      const answer = await getJson(`${this.config.urls.submissions}${id}/`);
      const events = answer.ok ? answer.data.events || [] : [];
      const stored = events.length ? events[events.length - 1].seq : 0;
      if (stream === this.stream && stored > stream.lastSeq) stream.resync();
    }, STALL_CHECK_EVERY_MS);
  }

  async showStored(item) {
    this.beginShowing(item);
    this.setBuildState("queued", "Loading this attempt…");
    const answer = await getJson(`${this.config.urls.submissions}${item.id}/`);
    if (this.current !== item) return;
    if (!answer.ok) {
      this.setBuildState("error", answer.error);
      return;
    }
    for (const event of answer.data.events || []) this.handle(event, false);
    if (!FINISHED.has(answer.data.status)) this.watch({ ...item, status: answer.data.status });
  }

  async mayStillSee(id) {
    const answer = await getJson(`${this.config.urls.submissions}${id}/`);
    return !(answer.status === 404 || answer.status === 401 || answer.status === 403);
  }

  // `live` is false while replaying a finished attempt from the API.
  handle(event, live) {
    if (event.type === "log") this.log.append(event.text || "");
    else if (event.type === "status") this.statusEvent(event);
    else if (event.type === "check") this.results.addCheck(event);
    else if (event.type === "result") this.resultEvent(event, live);
  }

  // A waiting build's status carries its place in the queue and the estimated wait, updated as the queue
  // moves; a build that is retried (its sandbox or worker stopped) says so in the log too.
  statusEvent(event) {
    this.lastStatus = event.message || (event.status === "running" ? this.words.running : "Waiting for a build sandbox…");
    this.setBuildState(event.status === "running" ? "running" : "queued", this.lastStatus);
    const place = this.$("build-state");
    if (typeof event.position === "number") place.dataset.position = String(event.position);
    else delete place.dataset.position;
    if (event.retry) this.log.append(`--- ${event.message}`);
  }

  resultEvent(result, live) {
    this.stopElapsed();
    clearInterval(this.watchdog);
    // The checks' summary carries the server's message; an error's message is the whole story, so it is
    // shown here too ("out of memory", "timed out", ...).
    const words = RESULT_WORDS[result.status] || "Finished";
    const score = typeof result.score === "number" ? ` Score ${result.score}%.` : "";
    const why = result.status === "error" && result.message ? ` ${result.message}` : "";
    this.setBuildState(result.status, `${words}.${score}${why}`);
    const stopped = (result.build && result.build.ok === false) || (result.lab && result.lab.ran === false);
    this.log.finishStep(stopped ? this.words.stopped : this.words.finished);
    this.results.showResult(result);
    this.image.show(result.image);
    if (this.current) this.current = { ...this.current, status: result.status };
    if (live) this.refreshHistory();
  }

  streamState(state, detail) {
    this.retryButton.hidden = state !== "reconnecting";
    if (this.historyAfterConnect && state !== "connecting") {
      this.historyAfterConnect = false;
      this.refreshHistory();
    }
    if (state === "reconnecting") {
      const wait = detail.delay ? ` in ${Math.max(1, Math.round(detail.delay / 1000))} s` : "…";
      this.setBuildState("reconnecting", `Connection to the build lost. Reconnecting${wait} (try ${detail.attempt}). Nothing will be missed.`);
    } else if (state === "live") {
      this.setBuildState(this.buildState === "reconnecting" ? this.liveState || "queued" : this.buildState, this.lastStatus);
    } else if (state === "refused") {
      this.stopElapsed();
      clearInterval(this.watchdog);
      const whose = detail.code === CLOSE_NOT_ALLOWED ? "it belongs to someone else" : "it does not exist or is not yours";
      this.setBuildState("error", `This build cannot be shown: ${whose}.`);
    }
  }

  setBuildState(state, text) {
    if (state !== "reconnecting") this.liveState = state;
    this.buildState = state;
    this.$("build-state").dataset.state = state;
    this.$("build-status").textContent = text;
  }

  startElapsed(since) {
    const started = since ? new Date(since).getTime() : Date.now();
    const tick = () => {
      const seconds = Math.max(0, Math.round((Date.now() - started) / 1000));
      this.$("elapsed").textContent = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
    };
    tick();
    this.elapsedTimer = setInterval(tick, 1000);
  }

  stopElapsed() {
    clearInterval(this.elapsedTimer);
    this.elapsedTimer = null;
  }

  // --- History -------------------------------------------------------------------------------------------

  async refreshHistory() {
    if (!this.history) return null;
    const answer = await getJson(this.config.urls.history);
    if (!answer.ok) {
      this.history.showError(answer.error);
      return null;
    }
    const submissions = answer.data.submissions || [];
    this.history.render(answer.data);
    const shown = this.current && submissions.find((item) => item.id === this.current.id);
    if (shown && !this.current.attempt) {
      this.current = { ...this.current, attempt: shown.attempt };
      this.$("build-label").textContent = `· attempt ${shown.attempt}`;
    }
    return submissions;
  }
}

const configElement = document.getElementById("workspace-config");
const root = document.querySelector("[data-workspace]");
if (configElement && root) {
  const workspace = new Workspace(root, JSON.parse(configElement.textContent));
  workspace.start();
  // For debugging in the browser console and for the browser tests.
  window.dockyardWorkspace = workspace;
}
