// Entry point: hash routing between views, focus and title management, the cart badge.
import * as allOrders from "./all-orders.js";
import * as analytics from "./analytics.js";
import * as catalogue from "./catalogue.js";
import * as checkout from "./checkout.js";
import { h, heading, replaceChildren } from "./dom.js";
import * as operations from "./operations.js";
import * as orderDetail from "./order-detail.js";
import * as orders from "./orders.js";
import * as review from "./review.js";
import { cartCount, onCartChange } from "./state.js";

const ROUTES = [
  { pattern: /^\/?$/, view: catalogue, title: "Catalogue", nav: "#/" },
  { pattern: /^\/cart$/, view: checkout, title: "Cart", nav: "#/cart" },
  { pattern: /^\/orders$/, view: orders, title: "My orders", nav: "#/orders" },
  { pattern: /^\/orders\/(?<id>[^/]+)$/, view: orderDetail, title: "Order", nav: "#/orders" },
  { pattern: /^\/all-orders$/, view: allOrders, title: "All orders", nav: "#/all-orders" },
  { pattern: /^\/review$/, view: review, title: "Review queue", nav: "#/review" },
  { pattern: /^\/operations$/, view: operations, title: "Operations", nav: "#/operations" },
  { pattern: /^\/analytics$/, view: analytics, title: "Analytics", nav: "#/analytics" },
];

const main = document.getElementById("main");
let cleanup = null;
let firstRender = true;

function notFound(container) {
  replaceChildren(container, heading("Page not found"), h("p", {}, "There is no page here. ", h("a", { href: "#/" }, "Go to the catalogue"), "."));
}

function navigate(hash) {
  if (window.location.hash === hash) route();
  else window.location.hash = hash;
}

function route() {
  const path = decodeURIComponent(window.location.hash.replace(/^#/, "")) || "/";
  if (cleanup) cleanup();
  cleanup = null;
  const match = ROUTES.map((entry) => ({ entry, found: entry.pattern.exec(path) })).find(({ found }) => found);
  const view = h("div", { class: "view" });
  replaceChildren(main, view);
  if (match) {
    cleanup = match.entry.view.render(view, match.found.groups || {}, { navigate }) || null;
    document.title = `${match.entry.title} · Event Shop`;
  } else {
    notFound(view);
    document.title = "Not found · Event Shop";
  }
  document.querySelectorAll(".site-nav a").forEach((link) => {
    if (match && link.getAttribute("href") === match.entry.nav) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  });
  drawCartCount();
  if (!firstRender) main.querySelector(".view-heading")?.focus();
  firstRender = false;
}

function drawCartCount() {
  const count = cartCount();
  const badge = document.getElementById("cart-count");
  badge.textContent = String(count);
  badge.parentElement.setAttribute("aria-label", `Cart, ${count} ${count === 1 ? "item" : "items"}`);
}

// A path outside the hash (CloudFront answers unknown paths with index.html) becomes a route.
if (window.location.pathname !== "/" && !window.location.hash) {
  const path = window.location.pathname.replace(/\/index\.html$/, "/");
  window.history.replaceState(null, "", `/#${path}`);
}
window.addEventListener("hashchange", route);
window.addEventListener("storage", drawCartCount);
onCartChange(drawCartCount);
drawCartCount();
route();
