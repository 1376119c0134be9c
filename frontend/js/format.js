// Formatting of money, time, statuses and ids for display.

const FRACTION_DIGITS = { EUR: 2, USD: 2, GBP: 2 };

/** Minor units to a localised amount, e.g. (1299, "EUR") -> "€12.99". */
export function money(amount, currency) {
  if (amount === null || amount === undefined || !currency) return "—";
  const digits = FRACTION_DIGITS[currency] ?? 2;
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(
      amount / 10 ** digits,
    );
  } catch {
    return `${(amount / 10 ** digits).toFixed(digits)} ${currency}`;
  }
}

/** `{amount, currency}` as displayed text. */
export function moneyOf(value) {
  return value ? money(value.amount, value.currency) : "—";
}

export function dateTime(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.valueOf()) ? String(iso) : date.toLocaleString();
}

export function time(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.valueOf())
    ? String(iso)
    : date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export const STATUS_LABELS = {
  new: "New",
  awaiting_replies: "Processing",
  on_hold: "On hold for review",
  confirmed: "Confirmed",
  cancelled: "Cancelled",
};

export const FINAL_STATUSES = new Set(["confirmed", "cancelled"]);

export function statusLabel(status) {
  return STATUS_LABELS[status] || String(status || "unknown");
}

export function shortId(id) {
  return id ? String(id).slice(0, 8) : "—";
}

const regionNames =
  typeof Intl.DisplayNames === "function" ? new Intl.DisplayNames(["en"], { type: "region" }) : null;

export function countryName(code) {
  try {
    return (regionNames && regionNames.of(code)) || code;
  } catch {
    return code;
  }
}
