// JSON calls to the server with the session's CSRF token. Every failure comes back as a message in
// words: the server's own {"error": ...} when it sent one, otherwise a plain explanation.

export function csrfToken() {
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (input) return input.value;
  const cookie = document.cookie.split("; ").find((part) => part.startsWith("csrftoken="));
  return cookie ? decodeURIComponent(cookie.split("=")[1]) : "";
}

export async function getJson(url, options = {}) {
  return request(url, { method: "GET", headers: { Accept: "application/json" }, ...options });
}

export async function postJson(url, body, options = {}) {
  return request(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body),
    ...options,
  });
}

// Resolves to {ok, status, data, error}; never rejects, except when the call was aborted.
async function request(url, init) {
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin", ...init });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    return { ok: false, status: 0, data: null, error: fallbackMessage(0) };
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    // Not JSON: a proxy's error page, or Django's HTML page for a CSRF failure.
  }
  if (response.ok) return { ok: true, status: response.status, data, error: "" };
  const error = data && typeof data.error === "string" && data.error ? data.error : fallbackMessage(response.status);
  return { ok: false, status: response.status, data, error };
}

export function fallbackMessage(status) {
  if (status === 0) return "Could not reach the server. Check your connection; your files are kept in the editor.";
  if (status === 401) return "Log in to do that. Your files are kept in the editor.";
  if (status === 403) {
    return "The server refused the request: your session may have expired. Reload the page (your files are kept) and try again.";
  }
  if (status === 413) return "That is too large to send.";
  if (status === 429) return "Too many requests right now. Wait a moment, then try again.";
  return `The server had a problem (HTTP ${status}). Your files are kept in the editor; please try again in a moment.`;
}
