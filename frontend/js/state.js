// What this browser remembers: the cart and the orders placed here with each one's access
// token (localStorage: the token is the only way to reach the order), the operator credential
// (sessionStorage, gone when the tab closes).

const CART_KEY = "shop.cart.v1";
const ORDERS_KEY = "shop.orders.v2";
const CHECKOUT_KEY = "shop.checkout.v1";
const CREDENTIAL_KEY = "shop.operatorCredential";

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

/** The orders placed in this browser as {id, token}, newest first. */
function myOrders() {
  const stored = read(localStorage, ORDERS_KEY, []);
  return Array.isArray(stored)
    ? stored.filter((entry) => typeof entry?.id === "string" && typeof entry?.token === "string")
    : [];
}

/** Order ids placed in this browser, newest first. */
export function myOrderIds() {
  return myOrders().map((entry) => entry.id);
}

/** The access token of an order placed in this browser, or "" (another browser placed it). */
export function orderToken(id) {
  return myOrders().find((entry) => entry.id === id)?.token || "";
}

export function rememberOrder(id, token) {
  const others = myOrders().filter((entry) => entry.id !== id);
  write(localStorage, ORDERS_KEY, [{ id, token }, ...others].slice(0, 100));
}

export function forgetOrder(id) {
  write(localStorage, ORDERS_KEY, myOrders().filter((entry) => entry.id !== id));
}

/** Checkout form values to prefill (e-mail, country, currency, card). */
export function checkoutDefaults() {
  return read(localStorage, CHECKOUT_KEY, {});
}

export function saveCheckoutDefaults(values) {
  write(localStorage, CHECKOUT_KEY, values);
}

export function operatorCredential() {
  try {
    return sessionStorage.getItem(CREDENTIAL_KEY) || "";
  } catch {
    return "";
  }
}

export function setOperatorCredential(credential) {
  try {
    if (credential) sessionStorage.setItem(CREDENTIAL_KEY, credential);
    else sessionStorage.removeItem(CREDENTIAL_KEY);
  } catch {
    // sessionStorage disabled: the credential has to be entered again.
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
