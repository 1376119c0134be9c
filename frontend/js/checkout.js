// Cart and checkout: edit quantities, enter e-mail, shipping country, currency and test card,
// place the order. One Idempotency-Key per checkout attempt, reused when the same order is
// retried (after a network error or a server failure), so an order is never placed twice.
import { orders } from "./api.js";
import { CURRENCIES, preferredCurrency, productsBySku, setPreferredCurrency } from "./catalogue.js";
import { COUNTRY_CODES } from "./countries.js";
import { announce, field, h, heading, problemBox, replaceChildren, tableRegion } from "./dom.js";
import { countryName, money } from "./format.js";
import {
  cart,
  checkoutDefaults,
  clearCart,
  newIdempotencyKey,
  rememberOrder,
  saveCheckoutDefaults,
  setQuantity,
} from "./state.js";

export const TEST_CARDS = [
  ["tok_approve", "Approved"],
  ["tok_insufficient_funds", "Declined: insufficient funds"],
  ["tok_transient_error", "Transient error (fails once, then approved)"],
  ["tok_permanent_error", "Permanent error (the payment message goes to its DLQ)"],
];

/** The last attempt: its body and key. The same body is retried with the same key. */
let attempt = null;

export function keyFor(body) {
  const fingerprint = JSON.stringify(body);
  if (!attempt || attempt.fingerprint !== fingerprint) {
    attempt = { fingerprint, key: newIdempotencyKey() };
  }
  return attempt.key;
}

const countries = COUNTRY_CODES.map((code) => [code, countryName(code)]).sort((a, b) =>
  a[1].localeCompare(b[1]),
);

function cartTable(lines, bySku, currency, onChange) {
  let total = 0;
  let priced = true;
  const rows = lines.map(([sku, quantity]) => {
    const product = bySku.get(sku);
    const unit = product?.prices?.[currency];
    if (unit === undefined) priced = false;
    else total += unit * quantity;
    const name = product?.name || sku;
    const input = h("input", {
      id: `quantity-${sku}`,
      type: "number",
      min: "0",
      max: "99",
      value: String(quantity),
      inputmode: "numeric",
      class: "quantity",
      onchange: () => {
        const value = Number.parseInt(input.value, 10);
        setQuantity(sku, Number.isInteger(value) && value > 0 ? Math.min(value, 99) : 0);
        announce(value > 0 ? `${name}: quantity ${value}.` : `${name} removed from the cart.`);
        onChange();
      },
    });
    return h(
      "tr",
      {},
      h("th", { scope: "row" }, name, h("span", { class: "sku" }, ` ${sku}`)),
      h("td", { class: "number" }, unit === undefined ? "—" : money(unit, currency)),
      h("td", {}, h("label", { class: "visually-hidden", for: input.id }, `Quantity of ${name}`), input),
      h("td", { class: "number" }, unit === undefined ? "—" : money(unit * quantity, currency)),
      h(
        "td",
        {},
        h(
          "button",
          {
            type: "button",
            class: "button link",
            onclick: () => {
              setQuantity(sku, 0);
              announce(`${name} removed from the cart.`);
              onChange();
            },
          },
          "Remove",
          h("span", { class: "visually-hidden" }, ` ${name}`),
        ),
      ),
    );
  });
  return tableRegion(
    "Cart",
    h(
      "table",
      { class: "data" },
      h("caption", {}, "Items in your cart"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "Product"),
          h("th", { scope: "col", class: "number" }, "Price"),
          h("th", { scope: "col" }, "Quantity"),
          h("th", { scope: "col", class: "number" }, "Subtotal"),
          h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")),
        ),
      ),
      h("tbody", {}, rows),
      h(
        "tfoot",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "row", colspan: "3" }, "Estimated total"),
          h("td", { class: "number total" }, priced ? money(total, currency) : "—"),
          h("td", {}),
        ),
      ),
    ),
  );
}

function select(options, selected) {
  return h(
    "select",
    { required: true },
    options.map(([value, label]) => h("option", { value, selected: value === selected }, label)),
  );
}

export function render(container, _params, { navigate }) {
  const defaults = checkoutDefaults();
  const message = h("div", { class: "messages" });
  const cartArea = h("div", { "aria-busy": "true" });
  const email = h("input", {
    type: "email",
    required: true,
    autocomplete: "email",
    value: defaults.email || "",
    maxlength: "254",
  });
  const country = select(countries, defaults.country || "DE");
  const currency = select(
    CURRENCIES.map((code) => [code, code]),
    preferredCurrency(),
  );
  const card = select(TEST_CARDS, defaults.card || "tok_approve");
  const submit = h("button", { type: "submit", class: "button primary" }, "Place order");
  let bySku = new Map();

  function lines() {
    return Object.entries(cart()).filter(([, quantity]) => quantity > 0);
  }

  function drawCart() {
    const current = lines();
    submit.disabled = current.length === 0;
    if (!current.length) {
      replaceChildren(cartArea, h("p", {}, "Your cart is empty. ", h("a", { href: "#/" }, "Browse the catalogue"), "."));
      return;
    }
    replaceChildren(cartArea, cartTable(current, bySku, currency.value, drawCart));
  }

  currency.addEventListener("change", () => {
    setPreferredCurrency(currency.value);
    drawCart();
  });

  const form = h(
    "form",
    {
      class: "checkout",
      "aria-labelledby": "checkout-heading",
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        replaceChildren(message);
        if (!form.checkValidity()) {
          const invalid = form.querySelector(":invalid");
          replaceChildren(
            message,
            problemBox({
              title: "Check the form",
              detail: invalid === email ? "Enter a valid e-mail address." : "Fill in every field.",
            }),
          );
          invalid?.focus();
          return;
        }
        const body = {
          customer_email: email.value.trim(),
          shipping_country: country.value,
          currency: currency.value,
          lines: lines().map(([sku, quantity]) => ({ sku, quantity })),
          payment_token: card.value,
        };
        saveCheckoutDefaults({ email: body.customer_email, country: body.shipping_country, currency: body.currency, card: body.payment_token });
        const key = keyFor(body);
        submit.disabled = true;
        form.setAttribute("aria-busy", "true");
        submit.textContent = "Placing order…";
        try {
          const order = await orders.place(body, key);
          attempt = null;
          clearCart();
          if (!order.access_token) {
            // A replay of a placement whose answer was lost: the token was in that answer only.
            replaceChildren(message, problemBox({ title: `Order ${order.order_id} was placed`, detail: order.access_note }));
            message.querySelector(".problem")?.focus();
            return;
          }
          rememberOrder(order.order_id, order.access_token);
          announce(`Order ${order.order_id} placed.`);
          navigate(`#/orders/${encodeURIComponent(order.order_id)}`);
        } catch (error) {
          const retryable = !error.status || error.status >= 500 || error.status === 429;
          replaceChildren(
            message,
            problemBox(error),
            retryable
              ? h("p", { class: "hint" }, "Placing it again is safe: the retry carries the same Idempotency-Key, so the order is placed at most once.")
              : null,
          );
          submit.disabled = false;
          submit.textContent = retryable ? "Try again" : "Place order";
          message.querySelector(".problem")?.focus();
        } finally {
          form.removeAttribute("aria-busy");
        }
      },
    },
    h("h2", { id: "checkout-heading" }, "Checkout"),
    field("E-mail", email, "Order updates are sent to this address."),
    field("Shipping country", country, "A country outside the shop's allowed list, or a large basket, makes the order risky: it is screened for fraud and may be held for review."),
    field("Currency", currency),
    field("Test card", card, "Test cards decide what the payment service answers."),
    submit,
  );

  replaceChildren(container, heading("Cart"), cartArea, form, message);
  drawCart();
  productsBySku()
    .then((products) => {
      bySku = products;
    })
    .catch((error) => replaceChildren(message, problemBox(error)))
    .finally(() => {
      cartArea.removeAttribute("aria-busy");
      drawCart();
    });
}
