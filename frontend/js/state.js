// What this browser remembers: the cart and placed orders (localStorage), the operator
// token (sessionStorage, gone when the tab closes).

const CART_KEY = "shop.cart.v1";
const ORDERS_KEY = "shop.orders.v1";
const CHECKOUT_KEY = "shop.checkout.v1";
const TOKEN_KEY = "shop.operatorToken";

function read(storage, key, fallback) {
  try {
    const value = JSON.parse(storage.getItem(key));
    return value ?? fallback;
  } catch {
    return fallback;
  }
}

function write(storage, key, value) {
  try {
    storage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or disabled: the app keeps working for this page view.
  }
}

const listeners = new Set();

/** Call `listener` whenever the cart changes; returns the unsubscribe function. */
export function onCartChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The cart as {sku: quantity}. */
export function cart() {
  const stored = read(localStorage, CART_KEY, {});
  return typeof stored === "object" && !Array.isArray(stored) ? stored : {};
}

export function setQuantity(sku, quantity) {
  const next = { ...cart() };
  if (quantity > 0) next[sku] = quantity;
  else delete next[sku];
  write(localStorage, CART_KEY, next);
  listeners.forEach((listener) => listener(next));
}

export function addToCart(sku, quantity) {
  setQuantity(sku, (cart()[sku] || 0) + quantity);
}

export function clearCart() {
  write(localStorage, CART_KEY, {});
  listeners.forEach((listener) => listener({}));
}

export function cartCount() {
  return Object.values(cart()).reduce((sum, quantity) => sum + quantity, 0);
}

/** Order ids placed in this browser, newest first. */
export function myOrderIds() {
  const stored = read(localStorage, ORDERS_KEY, []);
  return Array.isArray(stored) ? stored.filter((id) => typeof id === "string") : [];
}

export function rememberOrder(id) {
  write(localStorage, ORDERS_KEY, [id, ...myOrderIds().filter((known) => known !== id)].slice(0, 100));
}

export function forgetOrder(id) {
  write(localStorage, ORDERS_KEY, myOrderIds().filter((known) => known !== id));
}

/** Checkout form values to prefill (e-mail, country, currency, card). */
export function checkoutDefaults() {
  return read(localStorage, CHECKOUT_KEY, {});
}

export function saveCheckoutDefaults(values) {
  write(localStorage, CHECKOUT_KEY, values);
}

export function operatorToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return "";
  }
}

export function setOperatorToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // sessionStorage disabled: the token has to be entered again.
  }
}

/** A random UUID v4 (crypto.randomUUID needs a secure context; this does not). */
export function newIdempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
