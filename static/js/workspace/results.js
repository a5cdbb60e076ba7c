// The grading results: the checklist (streamed one verdict at a time, then settled by the result), the
// score, the build summary, and the image's layers as a bar chart against the reference solution.
// Everything from the server is set with textContent; only links checked to stay on this site get an href.

const STATUS_LABEL = { passed: "Passed", failed: "Failed", error: "Could not run", skipped: "Skipped" };
const STATUS_ICON = { passed: "✓", failed: "✗", error: "!", skipped: "–" };

export function formatBytes(size) {
  // Decimal units, as `docker images` and the grader's messages use them.
  if (typeof size !== "number" || !Number.isFinite(size) || size < 0) return "unknown size";
  if (size < 1000) return `${size} B`;
  const units = ["kB", "MB", "GB"];
  let value = size / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export function sameSiteUrl(url, base = window.location.href) {
  if (typeof url !== "string" || !url) return null;
  try {
    const parsed = new URL(url, base);
    return parsed.origin === new URL(base).origin ? parsed.pathname + parsed.search + parsed.hash : null;
  } catch {
    return null;
  }
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

export class ResultsView {
  constructor({ summary, buildSummary, checks, next }) {
    this.summary = summary;
    this.buildSummary = buildSummary;
    this.checks = checks;
    this.next = next;
    this.rows = new Map();
  }

  reset(text) {
    this.rows.clear();
    this.checks.replaceChildren();
    this.buildSummary.hidden = true;
    this.summary.textContent = text;
    this.summary.dataset.status = "";
  }

  addCheck(check) {
    const row = this.checkRow(check);
    const existing = this.rows.get(check.id);
    if (existing) existing.replaceWith(row);
    else this.checks.append(row);
    this.rows.set(check.id, row);
    const done = this.rows.size;
    const passed = [...this.checks.querySelectorAll(".ws-check-passed")].length;
    this.summary.textContent = `Checking… ${passed} of ${done} checks passed so far.`;
  }

  showResult(result) {
    if (Array.isArray(result.checks) && result.checks.length) {
      this.rows.clear();
      this.checks.replaceChildren();
      for (const check of result.checks) this.addCheck(check);
    }
    this.summary.textContent = resultSummary(result, this.rows.size, this.checks);
    this.summary.dataset.status = result.status;
    this.showBuild(result.build);
    if (result.status === "passed") this.next.hidden = false;
  }

  showBuild(build) {
    if (!build || typeof build !== "object") return;
    const seconds = typeof build.duration === "number" ? ` in ${build.duration.toFixed(1)} s` : "";
    const steps = typeof build.steps === "number" ? ` (${build.steps} steps)` : "";
    this.buildSummary.textContent = build.ok
      ? `The image built${seconds}${steps}.`
      : `The build failed${seconds}: ${build.message || build.reason || "see the log above"}`;
    this.buildSummary.hidden = false;
  }

  checkRow(check) {
    const status = STATUS_LABEL[check.status] ? check.status : check.passed ? "passed" : "failed";
    const row = element("li", `ws-check ws-check-${status}`);
    row.dataset.check = check.id;
    const head = element("div", "ws-check-head");
    head.append(
      element("span", "ws-check-icon", STATUS_ICON[status]),
      element("span", "ws-check-title", check.title || check.id),
      element("span", "ws-check-status", STATUS_LABEL[status]),
    );
    if (typeof check.points === "number") {
      head.append(element("span", "ws-check-points", `${check.points} pt${check.points === 1 ? "" : "s"}`));
    }
    head.firstChild.setAttribute("aria-hidden", "true");
    row.append(head);
    if (check.message) row.append(element("p", "ws-check-message", check.message));
    if (check.hint && status !== "passed") {
      const details = element("details", "ws-check-hint");
      details.append(element("summary", "", "Hint"), element("p", "", check.hint));
      row.append(details);
    }
    const href = sameSiteUrl(check.section_url);
    if (href) {
      const link = element("a", "ws-check-link", "Read the lesson section");
      link.href = href;
      row.append(link);
    }
    return row;
  }
}

function resultSummary(result, count, checks) {
  const passed = checks.querySelectorAll(".ws-check-passed").length;
  const score = typeof result.score === "number" ? ` Score ${result.score}%.` : "";
  // The server's message usually says the tally in its own words; ours is only the fallback.
  const tally = count && !result.message ? ` ${passed} of ${count} checks passed.` : "";
  const message = result.message ? ` ${result.message}` : "";
  const heading = { passed: "Passed!", failed: "Not yet.", error: "The build could not finish." }[result.status];
  return `${heading || "Finished."}${score}${tally}${message}`;
}

export class ImageView {
  constructor({ section, sizes, layers, layersPart }) {
    this.section = section;
    this.sizes = sizes;
    this.layers = layers;
    this.layersPart = layersPart;
  }

  reset() {
    this.section.hidden = true;
    this.sizes.replaceChildren();
    this.layers.replaceChildren();
  }

  show(image) {
    if (!image || typeof image !== "object" || typeof image.size !== "number") {
      this.reset();
      return;
    }
    this.sizes.replaceChildren(...this.sizeBars(image.size, image.solution_size));
    const layers = Array.isArray(image.layers) ? image.layers : [];
    const largest = Math.max(1, ...layers.map((layer) => Number(layer.size) || 0));
    this.layers.replaceChildren(...layers.map((layer) => this.layerRow(layer, largest)));
    this.layersPart.hidden = layers.length === 0;
    this.section.hidden = false;
  }

  sizeBars(size, solutionSize) {
    const hasSolution = typeof solutionSize === "number" && solutionSize > 0;
    const largest = Math.max(size, hasSolution ? solutionSize : 0, 1);
    const rows = [this.bar("Your image", size, largest, "ws-bar-yours")];
    if (hasSolution) {
      rows.push(this.bar("Reference solution", solutionSize, largest, "ws-bar-solution"));
      const ratio = size / solutionSize;
      const verdict =
        ratio > 1.05
          ? `Your image is ${ratio.toFixed(1)}× the size of the reference solution.`
          : "Your image is as small as the reference solution, or smaller.";
      rows.push(element("p", "ws-size-verdict", verdict));
    }
    return rows;
  }

  bar(label, size, largest, className) {
    const row = element("div", `ws-size-row ${className}`);
    const track = element("span", "ws-bar-track");
    const fill = element("span", "ws-bar");
    fill.style.width = `${Math.max(0.5, (100 * size) / largest)}%`;
    track.append(fill);
    track.setAttribute("aria-hidden", "true");
    row.append(element("span", "ws-size-label", label), track, element("span", "ws-size-value", formatBytes(size)));
    return row;
  }

  layerRow(layer, largest) {
    const size = Number(layer.size) || 0;
    const row = element("li", `ws-layer${layer.cached ? " is-cached" : ""}`);
    const instruction = element("code", "ws-layer-instruction", layer.instruction || "(no instruction recorded)");
    instruction.title = layer.instruction || "";
    const track = element("span", "ws-bar-track");
    const fill = element("span", "ws-bar");
    fill.style.width = `${size ? Math.max(0.5, (100 * size) / largest) : 0}%`;
    track.append(fill);
    track.setAttribute("aria-hidden", "true");
    row.append(instruction, track, element("span", "ws-layer-size", formatBytes(size)));
    if (layer.cached) row.append(element("span", "ws-cached-key", "cached"));
    return row;
  }
}
