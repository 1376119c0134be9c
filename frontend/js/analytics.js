// Analytics dashboard (operators): orders and revenue over time, totals, top SKUs, conversion,
// cancellations.
import { analytics } from "./api.js";
import { lineChart } from "./chart.js";
import { h, heading, problemBox, replaceChildren, tableRegion } from "./dom.js";
import { dateTime, money } from "./format.js";
import { credentialPanel, isCredentialProblem } from "./operator.js";
import { poll } from "./poll.js";
import { operatorCredential, setOperatorCredential } from "./state.js";

const REFRESH_MS = 5000;

function minuteLabel(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.valueOf())
    ? String(iso)
    : date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

function currenciesOf(series, key) {
  return [...new Set(series.flatMap((point) => Object.keys(point[key] || {})))].sort();
}

function moneyByCurrency(values) {
  const entries = Object.entries(values || {});
  return entries.length ? entries.map(([currency, amount]) => money(amount, currency)).join(" · ") : "—";
}

function stat(label, value) {
  return h("div", { class: "stat" }, h("dt", {}, label), h("dd", {}, value));
}

function simpleTable(label, columns, rows) {
  return tableRegion(
    label,
    h(
      "table",
      { class: "data compact" },
      h("caption", {}, label),
      h("thead", {}, h("tr", {}, columns.map((column, i) => h("th", { scope: "col", class: i ? "number" : null }, column)))),
      h("tbody", {}, rows.map((cells) => h("tr", {}, h("th", { scope: "row" }, cells[0]), cells.slice(1).map((cell) => h("td", { class: "number" }, cell))))),
    ),
  );
}

function draw(area, data) {
  const series = Array.isArray(data.series) ? data.series : [];
  const labels = series.map((point) => minuteLabel(point.minute));
  const totals = data.totals || {};
  const conversion = data.conversion || {};
  const revenueCurrencies = currenciesOf(series, "revenue");
  const topSkus = Array.isArray(data.top_skus) ? data.top_skus : [];
  const cancellations = Array.isArray(data.cancellations_by_reason) ? data.cancellations_by_reason : [];
  replaceChildren(
    area,
    h(
      "dl",
      { class: "stats" },
      stat("Orders placed", String(totals.orders_placed ?? 0)),
      stat("Confirmed", String(totals.orders_confirmed ?? 0)),
      stat("Cancelled", String(totals.orders_cancelled ?? 0)),
      stat("Conversion", conversion.rate === null || conversion.rate === undefined ? "—" : `${(conversion.rate * 100).toFixed(1)} %`),
      stat("Revenue", moneyByCurrency(totals.revenue)),
      stat("Value placed", moneyByCurrency(totals.placed_value)),
    ),
    h(
      "div",
      { class: "charts" },
      lineChart({
        title: `Orders per minute (last ${data.window_minutes ?? series.length} minutes)`,
        labels,
        series: [
          { name: "Placed", values: series.map((point) => point.orders_placed ?? 0) },
          { name: "Confirmed", values: series.map((point) => point.orders_confirmed ?? 0) },
          { name: "Cancelled", values: series.map((point) => point.orders_cancelled ?? 0) },
        ],
        format: (value) => (Number.isInteger(value) ? String(value) : value.toFixed(1)),
      }),
      lineChart({
        title: "Revenue per minute (confirmed orders)",
        labels,
        series: (revenueCurrencies.length ? revenueCurrencies : ["EUR"]).map((currency) => ({
          name: currency,
          values: series.map((point) => (point.revenue?.[currency] ?? 0) / 100),
        })),
        format: (value) => (value >= 1000 ? `${(value / 1000).toFixed(1)}k` : value.toFixed(0)),
      }),
    ),
    h(
      "div",
      { class: "columns" },
      h(
        "section",
        { "aria-labelledby": "top-skus" },
        h("h2", { id: "top-skus" }, "Top products"),
        topSkus.length
          ? simpleTable("Top products by units sold", ["SKU", "Units", "Orders", "Revenue"], topSkus.map((sku) => [sku.sku, String(sku.units), String(sku.orders ?? "—"), moneyByCurrency(sku.revenue)]))
          : h("p", {}, "No sales yet."),
      ),
      h(
        "section",
        { "aria-labelledby": "cancellations" },
        h("h2", { id: "cancellations" }, "Cancellations by reason"),
        cancellations.length
          ? simpleTable("Cancellations by reason", ["Reason", "Orders"], cancellations.map((entry) => [entry.reason, String(entry.count)]))
          : h("p", {}, "No cancellations."),
      ),
    ),
    h("p", { class: "hint" }, `Updated ${dateTime(data.generated_at)}; refreshes every ${REFRESH_MS / 1000} s.`),
  );
}

export function render(container) {
  const message = h("div");
  const area = h("div", { "aria-busy": "true" });
  const credential = credentialPanel(() => refresh().catch(showProblem));

  function showProblem(error) {
    area.removeAttribute("aria-busy");
    if (isCredentialProblem(error)) {
      setOperatorCredential("");
      credential.redraw();
    }
    replaceChildren(message, problemBox(error));
  }

  async function refresh() {
    const operator = operatorCredential();
    if (!operator) {
      area.removeAttribute("aria-busy");
      replaceChildren(area, h("p", {}, "Enter your operator credential to see the dashboard."));
      return true;
    }
    const data = await analytics.dashboard(operator);
    replaceChildren(message);
    area.removeAttribute("aria-busy");
    const open = [...area.querySelectorAll("details")].map((details) => details.open);
    draw(area, data || {});
    area.querySelectorAll("details").forEach((details, index) => {
      details.open = Boolean(open[index]);
    });
    return true;
  }

  replaceChildren(container, heading("Analytics"), credential.element, message, area);
  return poll(refresh, REFRESH_MS, showProblem);
}
