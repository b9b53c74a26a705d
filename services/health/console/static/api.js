// The public API, same origin, signed in by the session cookie; writes carry the CSRF token.
let csrf = null;

export class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  if (r.status === 204) return null;
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new ApiError(r.status, data.detail || r.statusText);
  return data;
}

export const api = {
  get: (path) => call("GET", path),
  post: (path, body) => call("POST", path, body),
  // null when not signed in (204): the page then shows the sign-in form.
  async session() { const s = await call("GET", "/v1/console/session"); csrf = s?.csrf_token ?? null; return s; },
  async signIn(key) { const s = await call("POST", "/v1/console/session", { api_key: key }); csrf = s.csrf_token; return s; },
  async signOut() { await call("DELETE", "/v1/console/session"); csrf = null; },
};
