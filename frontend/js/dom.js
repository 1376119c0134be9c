// Small DOM helpers: elements are built from data, never from HTML strings.

/**
 * Create an element. `attributes` keys starting with "on" add listeners; `class`, `for`,
 * boolean and aria-* attributes are set as given. Children may be strings, nodes or arrays.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : String(child));
  }
}

/** Replace every child of `element`. */
export function replaceChildren(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

const announcer = () => document.getElementById("announcer");

/** Tell assistive technology about a change (polite live region). */
export function announce(message) {
  const region = announcer();
  if (!region) return;
  region.textContent = "";
  window.setTimeout(() => {
    region.textContent = message;
  }, 50);
}

/** The shared view heading: focusable so the router can move focus to it. */
export function heading(text) {
  return h("h1", { tabindex: "-1", class: "view-heading" }, text);
}

/** A message box for a problem (an `ApiProblem` or any Error). */
export function problemBox(error) {
  const title = error?.title || "Something went wrong";
  const detail = error?.detail || error?.message || "";
  return h(
    "div",
    { class: "problem", role: "alert", tabindex: "-1" },
    h("p", { class: "problem-title" }, title),
    detail && detail !== title ? h("p", { class: "problem-detail" }, detail) : null,
  );
}

/** A scrollable, keyboard-reachable wrapper for a wide table. */
export function tableRegion(label, table) {
  return h("div", { class: "table-scroll", role: "region", "aria-label": label, tabindex: "0" }, table);
}

let uniqueCounter = 0;
/** An id unique within the page, for label/control pairs. */
export function uniqueId(prefix) {
  uniqueCounter += 1;
  return `${prefix}-${uniqueCounter}`;
}

/** A label + control pair in one wrapper. */
export function field(labelText, control, hint) {
  const id = control.id || uniqueId("field");
  control.id = id;
  const hintId = hint ? `${id}-hint` : null;
  if (hintId) control.setAttribute("aria-describedby", hintId);
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, labelText),
    control,
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
  );
}
