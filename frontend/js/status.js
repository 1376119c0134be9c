// A status badge: text first (never colour alone), styled per status.
import { h } from "./dom.js";
import { statusLabel } from "./format.js";

export function statusBadge(status) {
  return h("span", { class: `badge status-${String(status).replace(/[^a-z_]/g, "")}` }, statusLabel(status));
}
