// The page's one way to its server: every request goes to this page's own /api routes, nothing elsewhere.
// Errors come back as ApiError with the server's one line (and, for a 503, the seconds to wait).

export class ApiError extends Error {
  constructor(status, message, retryAfter = 0) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter; // seconds (a 503's Retry-After), else 0
  }
}

const auth = { token: sessionStorage.getItem("deepcolor-token") || "", onUnauthorized: () => {} };

export function setToken(token) {
  auth.token = token;
  sessionStorage.setItem("deepcolor-token", token);
}

// Called on a 401, so that the page can ask for the token.
export function onUnauthorized(callback) {
  auth.onUnauthorized = callback;
}

function retryAfterSeconds(response) {
  const seconds = Number(response.headers.get("Retry-After"));
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 60) : 1;
}

// GET `path` (no form) or POST the form (options.method: another, DELETE say); the response when it is 2xx,
// else an ApiError.
export async function api(path, form, options = {}) {
  const headers = {};
  if (auth.token) headers.Authorization = `Bearer ${auth.token}`;
  const response = await fetch(path, {
    method: options.method || (form ? "POST" : "GET"),
    body: form || undefined,
    headers,
    signal: options.signal,
  });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body && body.error) message = body.error;
    } catch (_) { /* not JSON: keep the status line */ }
    if (response.status === 401) auth.onUnauthorized();
    throw new ApiError(response.status, message, response.status === 503 ? retryAfterSeconds(response) : 0);
  }
  return response;
}

// What to show the user for an error ("" for a request the page itself cancelled).
export function describe(error) {
  if (error instanceof ApiError) return error.message;
  if (error && error.name === "AbortError") return "";
  return "The server did not answer (is deepcolor serve still running?)";
}
