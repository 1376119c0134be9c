// One order: status (live), lines, and its event timeline with what caused each event. Read
// with the order's access token when this browser placed it (its customer may cancel it), else
// with the operator's credential.
import { listOf, orders } from "./api.js";
import { announce, h, heading, problemBox, replaceChildren, tableRegion } from "./dom.js";
import { FINAL_STATUSES, countryName, dateTime, moneyOf, shortId, statusLabel, time } from "./format.js";
import { poll } from "./poll.js";
import { operatorCredential, orderToken } from "./state.js";
import { statusBadge } from "./status.js";

const LIVE_INTERVAL_MS = 1500;
const SETTLED_INTERVAL_MS = 5000;

function eventTime(event) {
  return event.occurred_at ?? event.time ?? event.recorded_at;
}

function causeOf(event, byId) {
  if (!event.causation_id) return "—";
  const cause = byId.get(event.causation_id);
  if (cause) return `${cause.type} (#${cause.version ?? cause.position})`;
  return h("span", {}, "message ", h("code", { title: event.causation_id }, shortId(event.causation_id)));
}

function timeline(events) {
  const byId = new Map(events.map((event) => [event.event_id, event]));
  return h(
    "ol",
    { class: "timeline", "aria-label": "Event timeline" },
    events.map((event) =>
      h(
        "li",
        { class: "timeline-event", "data-type": event.type },
        h(
          "div",
          { class: "timeline-head" },
          h("time", { datetime: eventTime(event) || "", title: dateTime(eventTime(event)) }, time(eventTime(event))),
          h("strong", { class: "event-type" }, event.type),
          h("span", { class: "event-version" }, `#${event.version ?? "?"}`),
          event.payload?.reviewer ? h("span", { class: "event-reviewer" }, `by ${event.payload.reviewer}`) : null,
        ),
        h("p", { class: "event-cause" }, "Caused by: ", causeOf(event, byId)),
        h(
          "details",
          {},
          h("summary", {}, "Payload", h("span", { class: "visually-hidden" }, ` of ${event.type} #${event.version ?? ""}`)),
          h("pre", { class: "payload", tabindex: "0" }, JSON.stringify(event.payload ?? {}, null, 2)),
          h("p", { class: "hint" }, "Event id ", h("code", {}, event.event_id || "—")),
        ),
      ),
    ),
  );
}

function linesTable(order) {
  const lines = Array.isArray(order.lines) ? order.lines : [];
  if (!lines.length) return null;
  return tableRegion(
    "Order lines",
    h(
      "table",
      { class: "data" },
      h("caption", {}, "Lines"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "SKU"),
          h("th", { scope: "col", class: "number" }, "Quantity"),
          h("th", { scope: "col", class: "number" }, "Unit price"),
          h("th", { scope: "col", class: "number" }, "Subtotal"),
        ),
      ),
      h(
        "tbody",
        {},
        lines.map((line) =>
          h(
            "tr",
            {},
            h("th", { scope: "row" }, line.sku),
            h("td", { class: "number" }, String(line.quantity)),
            h("td", { class: "number" }, moneyOf(line.unit_price)),
            h("td", { class: "number" }, moneyOf(line.subtotal)),
          ),
        ),
      ),
    ),
  );
}

function summary(order) {
  const facts = [
    ["Status", statusBadge(order.status)],
    ["Total", moneyOf(order.total)],
    ["Items", String(order.item_count ?? "—")],
    ["E-mail", order.customer_email || "—"],
    ["Ships to", order.shipping_country ? `${countryName(order.shipping_country)} (${order.shipping_country})` : "—"],
    ["Stock", order.stock || "—"],
    ["Payment", order.payment || "—"],
    ["Fraud check", order.fraud || "—"],
    ["Placed", dateTime(order.placed_at)],
    ["Updated", dateTime(order.updated_at)],
  ];
  if (order.cancel_reason) facts.push(["Cancelled because", order.cancel_reason]);
  return h("dl", { class: "facts" }, facts.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

export function render(container, { id }) {
  const message = h("div");
  const statusLine = h("p", { class: "order-status", "aria-live": "polite", "aria-atomic": "true" });
  const details = h("div", { "aria-busy": "true" });
  const events = h("section", { "aria-labelledby": "timeline-heading" }, h("h2", { id: "timeline-heading" }, "Timeline"));
  const timelineArea = h("div");
  events.append(timelineArea);
  const actions = h("div", { class: "actions" });
  let lastStatus = null;
  let lastEventCount = -1;

  const customerToken = orderToken(id);

  async function cancel(button) {
    button.disabled = true;
    try {
      await orders.cancel(id, customerToken);
      announce("Cancellation requested.");
    } catch (error) {
      replaceChildren(message, problemBox(error));
      button.disabled = false;
    }
  }

  async function refresh() {
    const token = customerToken || operatorCredential();
    if (!token) {
      details.removeAttribute("aria-busy");
      replaceChildren(
        message,
        problemBox({
          title: "This browser cannot open this order",
          detail: "An order opens with the access token its placement returned, kept in the browser that placed it. Operators: enter your credential in the review or operations view first.",
        }),
      );
      return false;
    }
    let order;
    let history;
    try {
      [order, history] = await Promise.all([orders.get(id, token), orders.events(id, token)]);
    } catch (error) {
      details.removeAttribute("aria-busy");
      replaceChildren(message, problemBox(error));
      return error.status !== 404;
    }
    replaceChildren(message);
    details.removeAttribute("aria-busy");
    if (order.status !== lastStatus) {
      statusLine.textContent = `Status: ${statusLabel(order.status)}`;
      lastStatus = order.status;
    }
    replaceChildren(details, summary(order), linesTable(order));
    const list = listOf(history, "events", "items");
    if (list.length !== lastEventCount) {
      lastEventCount = list.length;
      replaceChildren(timelineArea, list.length ? timeline(list) : h("p", {}, "No events yet."));
    }
    replaceChildren(
      actions,
      FINAL_STATUSES.has(order.status) || !customerToken
        ? null
        : h("button", { type: "button", class: "button", onclick: (event) => cancel(event.currentTarget) }, "Cancel order"),
    );
    interval = FINAL_STATUSES.has(order.status) ? SETTLED_INTERVAL_MS : LIVE_INTERVAL_MS;
    return true;
  }

  let interval = LIVE_INTERVAL_MS;
  replaceChildren(
    container,
    h("p", { class: "breadcrumb" }, h("a", { href: "#/orders" }, "← My orders")),
    heading(`Order ${shortId(id)}`),
    h("p", { class: "hint" }, "Order id ", h("code", { class: "order-id" }, id)),
    statusLine,
    message,
    details,
    actions,
    events,
  );
  // Replies keep arriving after an order settles (a capture after a confirmation), so the
  // timeline keeps updating, more slowly.
  return poll(refresh, () => interval, (error) => replaceChildren(message, problemBox(error)));
}
