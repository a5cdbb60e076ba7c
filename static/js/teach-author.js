// The authoring preview refreshes itself when `manage.py author` reloads the course (or, with no watcher,
// when the course files change): it asks the server for a version every 1.5 s and reloads on a new one.
// A page that shows the result of a POST (grading) does not refresh, so the result stays on screen.
(() => {
  const bar = document.querySelector("[data-author-status]");
  if (!bar || bar.dataset.live !== "true") return;
  const url = bar.dataset.authorStatus;
  const version = bar.dataset.version;
  const check = async () => {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) return;
      const data = await response.json();
      if (data.version !== version) window.location.reload();
    } catch (error) {
      // The server is restarting or away: try again at the next tick.
    }
  };
  window.setInterval(check, 1500);
})();
