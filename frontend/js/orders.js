// "My orders": the orders placed in this browser with their live status, each read with the
// access token its placement returned (kept in this browser only).
import { orders } from "./api.js";
import { announce, h, heading, problemBox, replaceChildren, tableRegion } from "./dom.js";
import { FINAL_STATUSES, dateTime, moneyOf, shortId, statusLabel } from "./format.js";
import { poll } from "./poll.js";
import { forgetOrder, myOrderIds, orderToken } from "./state.js";
import { statusBadge } from "./status.js";

export const LIVE_INTERVAL_MS = 1500;

function row(id, entry, onForget) {
  const link = h("a", { href: `#/orders/${encodeURIComponent(id)}` }, h("code", {}, shortId(id)), h("span", { class: "visually-hidden" }, ` (order ${id})`));
  if (entry.error) {
    return h(
      "tr",
      { "data-order-id": id },
      h("th", { scope: "row" }, link),
      h("td", { colspan: "3" }, entry.error.status === 404 ? "The shop does not know this order." : entry.error.title),
      h("td", {}, "—"),
      h("td", {}, h("button", { type: "button", class: "button link", onclick: () => onForget(id) }, "Forget", h("span", { class: "visually-hidden" }, ` order ${id}`))),
    );
  }
  const order = entry.order;
  return h(
    "tr",
    { "data-order-id": id, "data-status": order.status },
    h("th", { scope: "row" }, link),
    h("td", {}, dateTime(order.placed_at)),
    h("td", { class: "number" }, String(order.item_count ?? "—")),
    h("td", { class: "number" }, moneyOf(order.total)),
    h("td", {}, statusBadge(order.status)),
    h("td", {}, ""),
  );
}

export function render(container) {
  const message = h("div");
  const live = h("p", { class: "live-note" });
  const body = h("tbody");
  const entries = new Map();

  const table = tableRegion(
    "My orders",
    h(
      "table",
      { class: "data orders" },
      h("caption", {}, "Orders placed in this browser, newest first"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Order", "Placed", "Items", "Total", "Status"].map((label) =>
            h("th", { scope: "col", class: ["Items", "Total"].includes(label) ? "number" : null }, label),
          ),
          h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")),
        ),
      ),
      body,
    ),
  );

  function forget(id) {
    forgetOrder(id);
    entries.delete(id);
    announce(`Order ${shortId(id)} forgotten.`);
    draw();
  }

  function draw() {
    const ids = myOrderIds();
    if (!ids.length) {
      replaceChildren(message, h("p", {}, "You have not placed an order in this browser yet. ", h("a", { href: "#/" }, "Browse the catalogue"), "."));
      table.hidden = true;
      return;
    }
    table.hidden = false;
    replaceChildren(body, ids.filter((id) => entries.has(id)).map((id) => row(id, entries.get(id), forget)));
  }

  async function refresh() {
    const ids = myOrderIds();
    const pending = ids.filter((id) => {
      const entry = entries.get(id);
      return !entry || (entry.order && !FINAL_STATUSES.has(entry.order.status));
    });
    const results = await Promise.all(
      pending.map((id) =>
        orders.get(id, orderToken(id)).then(
          (order) => ({ id, order }),
          (error) => ({ id, error }),
        ),
      ),
    );
    const changes = [];
    let unreachable = null;
    for (const result of results) {
      const previous = entries.get(result.id);
      if (result.error && result.error.status !== 404 && previous?.order) {
        unreachable = result.error;
        continue;
      }
      if (result.error && !result.error.status) unreachable = result.error;
      if (previous?.order && result.order && previous.order.status !== result.order.status) {
        changes.push(`Order ${shortId(result.id)} is now ${statusLabel(result.order.status)}.`);
      }
      entries.set(result.id, result);
    }
    replaceChildren(message, unreachable ? problemBox(unreachable) : null);
    draw();
    if (changes.length) announce(changes.join(" "));
    const watching = [...entries.values()].some((entry) => entry.order && !FINAL_STATUSES.has(entry.order.status));
    live.textContent = watching
      ? "Statuses update live while an order is in progress."
      : "Every order has reached its final status.";
    return watching || Boolean(unreachable);
  }

  replaceChildren(container, heading("My orders"), live, message, table);
  draw();
  return poll(refresh, LIVE_INTERVAL_MS, (error) => replaceChildren(message, problemBox(error)));
}
