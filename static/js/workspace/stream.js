// One submission's event stream over a WebSocket, kept alive across network blips.
//
// The server numbers events per submission and replays stored ones after `?after=SEQ`, so reconnecting
// with the last sequence number seen loses nothing; events at or below it are dropped here, so nothing is
// shown twice. Every state change is reported, so the page never stalls silently.

export const CLOSE_NOT_ALLOWED = 4403;
export const CLOSE_NOT_FOUND = 4404;
const CLOSE_DONE = 1000;
const MAX_DELAY_MS = 15000;
// A socket that stayed open this long was healthy: the next failure starts the backoff again.
const HEALTHY_MS = 5000;

// 0.5 s, 1 s, 2 s, 4 s ... up to 15 s, with a little jitter so a classroom does not reconnect in step.
export function reconnectDelay(attempt, random = Math.random) {
  const base = Math.min(MAX_DELAY_MS, 500 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.85 + 0.3 * random()));
}

export function socketUrl(path, after, location = window.location) {
  const url = new URL(path, location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("after", String(after));
  return url.toString();
}

export class SubmissionStream {
  // onEvent(event) for each new event in order; onState(state, detail) with state one of
  // "connecting", "live", "reconnecting", "refused", "done". checkAccess() answers whether the learner
  // may still see the submission: a refused handshake reaches the browser as a bare 1006 close (the
  // server rejects it before accepting), so only the API can tell "not yours" from a network blip.
  constructor(path, { onEvent, onState, checkAccess = async () => true, after = 0 }) {
    this.path = path;
    this.onEvent = onEvent;
    this.onState = onState;
    this.checkAccess = checkAccess;
    this.openedAt = 0;
    this.lastSeq = after;
    this.attempt = 0;
    this.socket = null;
    this.timer = null;
    this.stopped = false;
    this.onOnline = () => this.retryNow();
  }

  start() {
    window.addEventListener("online", this.onOnline);
    this.connect();
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    window.removeEventListener("online", this.onOnline);
    if (this.socket) this.socket.close(CLOSE_DONE);
    this.socket = null;
  }

  retryNow() {
    if (this.stopped || (this.socket && this.socket.readyState <= WebSocket.OPEN)) return;
    clearTimeout(this.timer);
    this.connect();
  }

  // Open a fresh socket now, replaying from the last event seen: for a socket that looks open but has
  // stopped delivering (a half-open connection, or a lost live message).
  resync() {
    if (this.stopped) return;
    const old = this.socket;
    this.socket = null;
    clearTimeout(this.timer);
    if (old) old.close(CLOSE_DONE);
    this.connect();
  }

  connect() {
    this.onState(this.attempt === 0 ? "connecting" : "reconnecting", { attempt: this.attempt });
    const socket = new WebSocket(socketUrl(this.path, this.lastSeq));
    this.socket = socket;
    this.openedAt = 0;
    socket.addEventListener("open", () => {
      this.openedAt = Date.now();
      this.onState("live", {});
    });
    socket.addEventListener("message", (message) => this.receive(socket, message));
    socket.addEventListener("close", (close) => this.closed(socket, close));
  }

  receive(socket, message) {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    if (typeof event.seq !== "number" || event.seq <= this.lastSeq) return;
    if (event.seq > this.lastSeq + 1) {
      // A gap should never happen (the server fills them), but if it does, ask for the missing events
      // again rather than show them out of order.
      socket.send(JSON.stringify({ after: this.lastSeq }));
      return;
    }
    this.lastSeq = event.seq;
    this.attempt = 0;
    this.onEvent(event);
    if (event.type === "result") {
      this.stop();
      this.onState("done", {});
    }
  }

  async closed(socket, close) {
    if (socket !== this.socket || this.stopped) return;
    this.socket = null;
    const wasOpen = this.openedAt > 0;
    if (wasOpen && Date.now() - this.openedAt > HEALTHY_MS) this.attempt = 0;
    if (close.code === CLOSE_NOT_ALLOWED || close.code === CLOSE_NOT_FOUND) {
      this.refuse(close.code);
      return;
    }
    if (!wasOpen && (await this.checkAccess()) === false) {
      this.refuse(CLOSE_NOT_FOUND);
      return;
    }
    // The learner may have pressed "Reconnect now" while the access check ran.
    if (this.stopped || this.socket) return;
    this.attempt += 1;
    const delay = reconnectDelay(this.attempt);
    this.onState("reconnecting", { attempt: this.attempt, delay });
    this.timer = setTimeout(() => this.connect(), delay);
  }

  refuse(code) {
    this.stop();
    this.onState("refused", { code });
  }
}
