// Calls to the shop's APIs on the same origin; failures become ApiProblem (RFC 9457 fields).

export class ApiProblem extends Error {
  constructor({ status = 0, title = "Request failed", detail = "", type = "about:blank", body = null }) {
    super(detail || title);
    this.name = "ApiProblem";
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.type = type;
    this.body = body;
  }
}

const TIMEOUT_MS = 15000;

function describeValidation(errors) {
  // Each problem with the field it is about ({field, message}, or FastAPI's {loc, msg}).
  return errors
    .map((error) => {
      const where = Array.isArray(error.loc)
        ? error.loc.filter((part) => part !== "body").join(".")
        : error.field || "";
      const text = error.message ?? error.msg ?? "";
      return where ? `${where}: ${text}` : text;
    })
    .join("; ");
}

async function problemOf(response) {
  const type = response.headers.get("content-type") || "";
  let body = null;
  if (type.includes("json")) {
    body = await response.json().catch(() => null);
  }
  if (body && typeof body === "object") {
    let detail = body.detail;
    if (Array.isArray(detail)) detail = describeValidation(detail);
    if (Array.isArray(body.errors) && !detail) detail = describeValidation(body.errors);
    return new ApiProblem({
      status: response.status,
      title: body.title || response.statusText || `HTTP ${response.status}`,
      detail: typeof detail === "string" ? detail : detail ? JSON.stringify(detail) : "",
      type: body.type,
      body,
    });
  }
  return new ApiProblem({
    status: response.status,
    title: `The server answered ${response.status} ${response.statusText}`.trim(),
    detail: "",
  });
}

/**
 * Request JSON from `path`. Options: method, body (sent as JSON), headers, token (sent as
 * `Authorization: Bearer`: an order's access token or an operator's credential). Resolves to
 * the parsed body (null for an empty one); rejects with ApiProblem.
 */
export async function request(path, { method = "GET", body, headers = {}, token } = {}) {
  const controller = new AbortController();
  const timer = window.setTimeout(() => controller.abort(), TIMEOUT_MS);
  const allHeaders = { Accept: "application/json, application/problem+json", ...headers };
  if (body !== undefined) allHeaders["Content-Type"] = "application/json";
  if (token) allHeaders.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: allHeaders,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
      cache: "no-store",
    });
  } catch (error) {
    throw new ApiProblem({
      title: "The shop cannot be reached",
      detail:
        error.name === "AbortError"
          ? `No answer within ${TIMEOUT_MS / 1000} s. Check your connection and try again.`
          : "The request did not reach the server. Check your connection and try again.",
    });
  } finally {
    window.clearTimeout(timer);
  }
  if (!response.ok) throw await problemOf(response);
  if (response.status === 204) return null;
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiProblem({
      status: response.status,
      title: "Unexpected answer from the server",
      detail: `Expected JSON from ${path}.`,
    });
  }
}

/** The list inside a response that may be a bare array or an object holding one. */
export function listOf(data, ...keys) {
  if (Array.isArray(data)) return data;
  for (const key of keys) {
    if (data && Array.isArray(data[key])) return data[key];
  }
  return [];
}

export const catalogue = {
  list: () => request("/api/catalogue"),
};

// `token`: the order's access token (its customer) or an operator's credential.
export const orders = {
  place: (order, idempotencyKey) =>
    request("/api/orders", { method: "POST", body: order, headers: { "Idempotency-Key": idempotencyKey } }),
  get: (id, token) => request(`/api/orders/${encodeURIComponent(id)}`, { token }),
  events: (id, token) => request(`/api/orders/${encodeURIComponent(id)}/events`, { token }),
  list: ({ status, limit = 50, cursor } = {}, token) => {
    const query = new URLSearchParams();
    if (status) query.set("status", status);
    if (limit) query.set("limit", String(limit));
    if (cursor) query.set("cursor", cursor);
    return request(`/api/orders?${query}`, { token });
  },
  cancel: (id, token, reason = "cancelled by customer") =>
    request(`/api/orders/${encodeURIComponent(id)}/cancel`, { method: "POST", body: { reason }, token }),
  review: (id, { approve, reason }, token) =>
    request(`/api/orders/${encodeURIComponent(id)}/review`, {
      method: "POST",
      body: { decision: approve ? "approve" : "reject", reason },
      token,
    }),
};

// `token`: an operator's credential.
export const operations = {
  queues: (token) => request("/api/ops/queues", { token }),
  alarms: (token) => request("/api/ops/alarms", { token }),
  log: (token) => request("/api/ops/log?limit=50", { token }),
  redrive: (name, token) =>
    request(`/api/ops/queues/${encodeURIComponent(name)}/redrive`, { method: "POST", token }),
};

// The dashboard is a Lambda whose URL takes only requests CloudFront signed, the signature
// replacing `Authorization`: its reader takes the operator's credential from X-Shop-Authorization.
export const analytics = {
  dashboard: (token) =>
    request("/api/analytics", { headers: { "X-Shop-Authorization": `Bearer ${token}` } }),
};
