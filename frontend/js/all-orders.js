// Every customer's orders, newest first (operators): from the read model, a page at a time.
import { listOf, orders } from "./api.js";
import { field, h, heading, problemBox, replaceChildren, tableRegion } from "./dom.js";
import { STATUS_LABELS, dateTime, moneyOf, shortId } from "./format.js";
import { credentialPanel, isCredentialProblem } from "./operator.js";
import { operatorCredential, setOperatorCredential } from "./state.js";
import { statusBadge } from "./status.js";

const PAGE_SIZE = 50;

function row(order) {
  return h(
    "tr",
    { "data-order-id": order.order_id, "data-status": order.status },
    h(
      "th",
      { scope: "row" },
      h("a", { href: `#/orders/${encodeURIComponent(order.order_id)}` }, h("code", {}, shortId(order.order_id)), h("span", { class: "visually-hidden" }, ` (order ${order.order_id})`)),
    ),
    h("td", {}, dateTime(order.placed_at)),
    h("td", {}, order.customer_email),
    h("td", {}, order.shipping_country),
    h("td", { class: "number" }, moneyOf(order.total)),
    h("td", {}, statusBadge(order.status)),
  );
}

export function render(container) {
  const message = h("div");
  const body = h("tbody");
  const more = h("button", { type: "button", class: "button", hidden: true }, "Show older orders");
  const status = h(
    "select",
    {},
    h("option", { value: "" }, "Every status"),
    Object.entries(STATUS_LABELS).map(([value, label]) => h("option", { value }, label)),
  );
  const table = tableRegion(
    "All orders",
    h(
      "table",
      { class: "data orders" },
      h("caption", {}, "Every customer's orders, newest first"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Order", "Placed", "E-mail", "Ships to", "Total", "Status"].map((label) =>
            h("th", { scope: "col", class: label === "Total" ? "number" : null }, label),
          ),
        ),
      ),
      body,
    ),
  );
  const credential = credentialPanel(() => load(true));
  let cursor = null;

  async function load(fresh) {
    const operator = operatorCredential();
    if (fresh) {
      cursor = null;
      replaceChildren(body);
    }
    if (!operator) {
      table.hidden = true;
      more.hidden = true;
      replaceChildren(message, h("p", {}, "Enter your operator credential to see every order."));
      return;
    }
    try {
      const page = await orders.list({ status: status.value, limit: PAGE_SIZE, cursor }, operator);
      body.append(...listOf(page, "items").map(row));
      cursor = page?.next_cursor || null;
      table.hidden = false;
      more.hidden = !cursor;
      replaceChildren(message, body.children.length ? null : h("p", {}, "No order matches."));
    } catch (error) {
      if (isCredentialProblem(error)) {
        setOperatorCredential("");
        credential.redraw();
      }
      replaceChildren(message, problemBox(error));
    }
  }

  status.addEventListener("change", () => load(true));
  more.addEventListener("click", () => load(false));
  replaceChildren(
    container,
    heading("All orders"),
    credential.element,
    field("Status", status),
    message,
    table,
    more,
  );
  load(true);
}
