// Review queue: orders on hold after a fraud flag; approve or reject each with a reason. The
// decision is recorded with the name of the operator whose credential sent it.
import { listOf, orders } from "./api.js";
import { announce, field, h, heading, problemBox, replaceChildren } from "./dom.js";
import { countryName, dateTime, moneyOf, shortId } from "./format.js";
import { credentialPanel, isCredentialProblem } from "./operator.js";
import { poll } from "./poll.js";
import { operatorCredential, setOperatorCredential } from "./state.js";

const REFRESH_MS = 2000;

export function render(container) {
  const message = h("div");
  const queue = h("ul", { class: "review-queue", "aria-busy": "true" });
  const handled = new Set();
  const credential = credentialPanel(() => refresh().catch(showProblem));
  let shownIds = "";

  function showProblem(error) {
    if (isCredentialProblem(error)) {
      setOperatorCredential("");
      credential.redraw();
    }
    replaceChildren(message, problemBox(error));
  }

  function card(order) {
    const reason = h("input", { type: "text", maxlength: "200", autocomplete: "off", value: "" });
    const status = h("p", { class: "review-status", role: "status" });
    const buttons = [
      h("button", { type: "button", class: "button primary", "data-decision": "approve" }, "Approve", h("span", { class: "visually-hidden" }, ` order ${order.order_id}`)),
      h("button", { type: "button", class: "button danger", "data-decision": "reject" }, "Reject", h("span", { class: "visually-hidden" }, ` order ${order.order_id}`)),
    ];
    async function decide(approve) {
      const operator = operatorCredential();
      if (!operator) {
        replaceChildren(message, problemBox({ title: "Operator credential needed", detail: "Enter your operator credential above to review orders." }));
        credential.element.querySelector("input")?.focus();
        return;
      }
      const text = reason.value.trim() || (approve ? "approved by reviewer" : "rejected by reviewer");
      buttons.forEach((button) => (button.disabled = true));
      status.textContent = approve ? "Approving…" : "Rejecting…";
      try {
        await orders.review(order.order_id, { approve, reason: text }, operator);
        handled.add(order.order_id);
        status.textContent = approve ? "Approved." : "Rejected.";
        announce(`Order ${shortId(order.order_id)} ${approve ? "approved" : "rejected"}.`);
        replaceChildren(message);
      } catch (error) {
        status.textContent = "";
        buttons.forEach((button) => (button.disabled = false));
        showProblem(error);
      }
    }
    buttons[0].addEventListener("click", () => decide(true));
    buttons[1].addEventListener("click", () => decide(false));
    return h(
      "li",
      { class: "review-card", "data-order-id": order.order_id },
      h("h2", {}, h("a", { href: `#/orders/${encodeURIComponent(order.order_id)}` }, `Order ${shortId(order.order_id)}`)),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Total"),
        h("dd", {}, moneyOf(order.total)),
        h("dt", {}, "Ships to"),
        h("dd", {}, order.shipping_country ? `${countryName(order.shipping_country)} (${order.shipping_country})` : "—"),
        h("dt", {}, "E-mail"),
        h("dd", {}, order.customer_email || "—"),
        h("dt", {}, "Placed"),
        h("dd", {}, dateTime(order.placed_at)),
      ),
      field("Reason", reason, "Optional; recorded with the decision."),
      h("div", { class: "actions" }, buttons),
      status,
    );
  }

  async function refresh() {
    const operator = operatorCredential();
    if (!operator) {
      queue.removeAttribute("aria-busy");
      shownIds = "";
      replaceChildren(queue, h("li", { class: "empty" }, "Enter your operator credential to see the orders on hold."));
      return true;
    }
    const data = await orders.list({ status: "on_hold", limit: 50 }, operator);
    queue.removeAttribute("aria-busy");
    const held = listOf(data, "items", "orders").filter((order) => !handled.has(order.order_id));
    const ids = held.map((order) => order.order_id).join(",");
    if (ids !== shownIds || !held.length) {
      // Rebuild only when the queue changes, so a reason being typed is not lost.
      const focusedId = document.activeElement?.closest?.("[data-order-id]")?.dataset.orderId;
      shownIds = ids;
      replaceChildren(
        queue,
        held.length ? held.map(card) : h("li", { class: "empty" }, "No order is waiting for review."),
      );
      if (focusedId && !held.some((order) => order.order_id === focusedId)) {
        container.querySelector(".view-heading")?.focus();
      }
    }
    return true;
  }

  replaceChildren(
    container,
    heading("Review queue"),
    h("p", {}, "Orders the fraud check flagged wait here on hold. Approving confirms the order; rejecting cancels it and releases its stock and payment. Each decision is recorded with your operator name."),
    credential.element,
    message,
    queue,
  );
  return poll(refresh, REFRESH_MS, showProblem);
}
