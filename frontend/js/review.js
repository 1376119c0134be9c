// Review queue: orders on hold after a fraud flag; approve or reject each with a reason.
import { listOf, orders } from "./api.js";
import { announce, field, h, heading, problemBox, replaceChildren } from "./dom.js";
import { countryName, dateTime, moneyOf, shortId } from "./format.js";
import { isTokenProblem, tokenPanel } from "./operator.js";
import { poll } from "./poll.js";
import { operatorToken, setOperatorToken } from "./state.js";

const REFRESH_MS = 2000;
const REVIEWER_KEY = "shop.reviewer";

function savedReviewer() {
  try {
    return sessionStorage.getItem(REVIEWER_KEY) || "operator";
  } catch {
    return "operator";
  }
}

export function render(container) {
  const message = h("div");
  const queue = h("ul", { class: "review-queue", "aria-busy": "true" });
  const handled = new Set();
  const token = tokenPanel(() => refresh().catch(showProblem));
  let shownIds = "";
  const reviewer = h("input", { type: "text", maxlength: "200", autocomplete: "name", required: true, value: savedReviewer() });
  reviewer.addEventListener("change", () => {
    try {
      sessionStorage.setItem(REVIEWER_KEY, reviewer.value.trim());
    } catch {
      // sessionStorage disabled: the name is asked again next time.
    }
  });

  function showProblem(error) {
    if (isTokenProblem(error)) {
      setOperatorToken("");
      token.redraw();
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
      const tokenValue = operatorToken();
      if (!tokenValue) {
        replaceChildren(message, problemBox({ title: "Operator token needed", detail: "Enter the operator token above to review orders." }));
        token.element.querySelector("input")?.focus();
        return;
      }
      const text = reason.value.trim() || (approve ? "approved by reviewer" : "rejected by reviewer");
      buttons.forEach((button) => (button.disabled = true));
      status.textContent = approve ? "Approving…" : "Rejecting…";
      try {
        await orders.review(order.order_id, { approve, reviewer: reviewer.value.trim() || "operator", reason: text }, tokenValue);
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
    const data = await orders.list({ status: "on_hold", limit: 50 });
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
    h("p", {}, "Orders the fraud check flagged wait here on hold. Approving confirms the order; rejecting cancels it and releases its stock and payment."),
    token.element,
    field("Reviewer", reviewer, "Recorded with each decision."),
    message,
    queue,
  );
  return poll(refresh, REFRESH_MS, showProblem);
}
