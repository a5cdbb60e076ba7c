// Practice pages, progressively enhanced: every form works without this file.
// With it: order questions get move up/down buttons, flashcards take keys 1-4, the interview clock counts
// down, and a signed-in learner's Dockerfile goes through the sandbox API (POST /api/submissions/).
(function () {
  "use strict";

  function csrfToken(form) {
    var input = form && form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // Order questions: the list order is the answer; the hidden selects are renumbered to match it.
  function enhanceOrderList(list) {
    list.classList.add("is-enhanced");
    var status = document.createElement("p");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    list.after(status);

    function renumber() {
      var items = Array.prototype.slice.call(list.children);
      items.forEach(function (item, index) {
        item.querySelector("select").value = String(index + 1);
        item.querySelector("[data-move=up]").disabled = index === 0;
        item.querySelector("[data-move=down]").disabled = index === items.length - 1;
      });
    }

    function move(item, direction) {
      var sibling = direction === "up" ? item.previousElementSibling : item.nextElementSibling;
      if (!sibling) return;
      if (direction === "up") list.insertBefore(item, sibling);
      else list.insertBefore(sibling, item);
      renumber();
      item.querySelector("[data-move=" + direction + "]").focus();
      var position = Array.prototype.indexOf.call(list.children, item) + 1;
      status.textContent = "Moved to position " + position + " of " + list.children.length + ".";
    }

    Array.prototype.forEach.call(list.children, function (item) {
      var text = item.querySelector(".order-text").textContent.trim();
      var moves = document.createElement("span");
      moves.className = "order-moves";
      [["up", "↑", "Move up: "], ["down", "↓", "Move down: "]].forEach(function (spec) {
        var button = document.createElement("button");
        button.type = "button";
        button.dataset.move = spec[0];
        button.textContent = spec[1];
        button.setAttribute("aria-label", spec[2] + text);
        button.addEventListener("click", function () { move(item, spec[0]); });
        moves.appendChild(button);
      });
      item.insertBefore(moves, item.querySelector(".order-text"));
    });
    // Without JS, selects may be set in any order; with it, the list is the truth.
    list.closest("form").addEventListener("submit", renumber);
    renumber();
  }

  // Flashcards: 1-4 rate the card (once the answer is shown), space or Enter on the page reveals it.
  function enhanceFlashcard(card) {
    var back = card.querySelector("details");
    document.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey) return;
      if (event.target.closest("input, textarea, select")) return;
      // Space and Enter keep their usual meaning on links, buttons and the "Show answer" summary.
      var onControl = event.target.closest("button, summary, a");
      if ((event.key === " " || event.key === "Enter") && !onControl && back && !back.open) {
        event.preventDefault();
        back.open = true;
        return;
      }
      var button = card.querySelector('.rating-buttons [data-key="' + event.key + '"]');
      if (button && back && back.open) button.click();
    });
  }

  // The interview clock: counts down from the server's figure, so a wrong client clock does not matter.
  function startTimer(timer) {
    var left = parseInt(timer.dataset.secondsLeft, 10);
    var text = timer.querySelector("[data-timer-text]");
    var announce = document.querySelector("[data-timer-announce]");
    var end = Date.now() + left * 1000;
    function tick() {
      var seconds = Math.max(0, Math.round((end - Date.now()) / 1000));
      text.textContent = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
      timer.classList.toggle("is-low", seconds <= 60);
      if (announce && (seconds === 300 || seconds === 60)) announce.textContent = Math.round(seconds / 60) + " minutes left.";
      if (seconds === 0) {
        if (announce) announce.textContent = "Time is up.";
        window.clearInterval(handle);
        window.setTimeout(function () { window.location.href = timer.dataset.reportUrl; }, 1500);
      }
    }
    var handle = window.setInterval(tick, 1000);
    tick();
  }

  // A signed-in learner's Dockerfile (or lab): submit through the sandbox API, then hand the submission id in.
  function enhanceChallenge(form) {
    var error = document.querySelector("[data-challenge-error]");
    var filesNode = document.getElementById("challenge-files");
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) return; // the second, native submit carries the submission id
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      var files = filesNode ? JSON.parse(filesNode.textContent) : {};
      // The textarea holds the exercise's main file: a Dockerfile, or a lab's commands.sh or compose.yaml.
      files[form.dataset.mainFile || "Dockerfile"] = form.querySelector("textarea[name=dockerfile]").value;
      fetch(form.dataset.sandboxApi, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(form), "Accept": "application/json" },
        body: JSON.stringify({ exercise: form.dataset.exercise, files: files })
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (response.status === 202 && body.id) {
            form.querySelector("input[name=submission_id]").value = String(body.id);
            form.dataset.sent = "1";
            form.submit();
            return;
          }
          error.hidden = false;
          error.textContent = body.error || "The sandbox refused the Dockerfile (HTTP " + response.status + ").";
          button.disabled = false;
        });
      }).catch(function () {
        // The API could not be reached: the plain form submits it from the server instead.
        form.dataset.sent = "1";
        form.submit();
      });
    });
  }

  // The report: while the sandbox builds the Dockerfile, poll its submission and reload when it is done.
  function pollSubmission(node) {
    var finished = ["passed", "failed", "error"];
    function check() {
      fetch(node.dataset.submissionPoll, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (body) {
          if (body && finished.indexOf(body.status) !== -1) window.location.reload();
          else window.setTimeout(check, 2000);
        })
        .catch(function () { window.setTimeout(check, 5000); });
    }
    window.setTimeout(check, 2000);
  }

  document.querySelectorAll("[data-order-list]").forEach(enhanceOrderList);
  document.querySelectorAll("[data-flashcard]").forEach(enhanceFlashcard);
  document.querySelectorAll(".timer[data-seconds-left]").forEach(startTimer);
  document.querySelectorAll("form[data-sandbox-api]").forEach(enhanceChallenge);
  document.querySelectorAll("[data-submission-poll]").forEach(pollSubmission);
})();
