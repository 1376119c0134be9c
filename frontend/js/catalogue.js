// Catalogue view: products with their stock, add to cart.
import { catalogue as catalogueApi, listOf } from "./api.js";
import { announce, field, h, heading, problemBox, replaceChildren } from "./dom.js";
import { money } from "./format.js";
import { addToCart, cart, checkoutDefaults, saveCheckoutDefaults } from "./state.js";

export const CURRENCIES = ["EUR", "USD", "GBP"];

/** The stock a product says is available, whatever the read path calls the field. */
export function availableOf(product) {
  for (const key of ["available", "available_stock", "stock", "quantity_available"]) {
    const value = product[key];
    if (typeof value === "number") return value;
    if (value && typeof value.available === "number") return value.available;
  }
  return null;
}

export function preferredCurrency() {
  const currency = checkoutDefaults().currency;
  return CURRENCIES.includes(currency) ? currency : "EUR";
}

export function setPreferredCurrency(currency) {
  saveCheckoutDefaults({ ...checkoutDefaults(), currency });
}

let cached = null;

/** Products by SKU (fetched once per page view, refreshed by the catalogue view). */
export async function productsBySku({ refresh = false } = {}) {
  if (!cached || refresh) {
    const data = await catalogueApi.list();
    cached = new Map(listOf(data, "products", "items").map((product) => [product.sku, product]));
  }
  return cached;
}

function productCard(product, currency) {
  const available = availableOf(product);
  const inCart = cart()[product.sku] || 0;
  const soldOut = available !== null && available <= 0;
  const max = available === null ? 99 : Math.max(0, Math.min(99, available - inCart));
  const quantity = h("input", {
    type: "number",
    min: "1",
    max: String(Math.max(1, max)),
    value: "1",
    inputmode: "numeric",
    class: "quantity",
    disabled: soldOut || max === 0,
  });
  const price = product.prices?.[currency];
  const form = h(
    "form",
    {
      class: "add-to-cart",
      "aria-label": `Add ${product.name} to the cart`,
      onsubmit: (event) => {
        event.preventDefault();
        const count = Number.parseInt(quantity.value, 10);
        if (!Number.isInteger(count) || count < 1) {
          announce("Enter a quantity of at least 1.");
          quantity.focus();
          return;
        }
        addToCart(product.sku, count);
        announce(`Added ${count} × ${product.name} to the cart.`);
        status.textContent = `${cart()[product.sku]} in your cart`;
      },
    },
    field(`Quantity of ${product.name}`, quantity),
    h("button", { type: "submit", class: "button primary", disabled: soldOut || max === 0 }, "Add to cart"),
  );
  const status = h("p", { class: "in-cart" }, inCart ? `${inCart} in your cart` : "");
  return h(
    "li",
    { class: "product", "data-sku": product.sku },
    h("h2", { class: "product-name" }, product.name),
    h("p", { class: "product-description" }, product.description || ""),
    h(
      "p",
      { class: "product-meta" },
      h("span", { class: "price" }, price === undefined ? "No price" : money(price, currency)),
      h(
        "span",
        { class: soldOut ? "stock stock-out" : "stock" },
        available === null ? "Stock unknown" : soldOut ? "Out of stock" : `${available} in stock`,
      ),
      h("span", { class: "sku" }, `SKU ${product.sku}`),
    ),
    form,
    status,
  );
}

export function render(container) {
  const list = h("ul", { class: "products", "aria-busy": "true" });
  const currencySelect = h(
    "select",
    {
      onchange: () => {
        setPreferredCurrency(currencySelect.value);
        draw();
      },
    },
    CURRENCIES.map((code) => h("option", { value: code, selected: code === preferredCurrency() }, code)),
  );
  const message = h("div");
  let products = [];
  function draw() {
    const currency = preferredCurrency();
    replaceChildren(list, products.map((product) => productCard(product, currency)));
  }
  replaceChildren(
    container,
    heading("Catalogue"),
    h("div", { class: "toolbar" }, field("Prices in", currencySelect)),
    message,
    list,
  );
  productsBySku({ refresh: true })
    .then((bySku) => {
      products = [...bySku.values()];
      list.removeAttribute("aria-busy");
      if (!products.length) replaceChildren(message, h("p", {}, "The catalogue is empty."));
      draw();
    })
    .catch((error) => {
      list.removeAttribute("aria-busy");
      replaceChildren(message, problemBox(error));
    });
}
