// A small line chart as inline SVG, with its numbers also given as a table for screen readers.
import { h, tableRegion, uniqueId } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const HEIGHT = 260;
const PAD = { top: 16, right: 16, bottom: 32, left: 56 };
// Line colours with at least 3:1 contrast on white; dashes tell series apart without colour.
export const PALETTE = [
  { color: "#0b57d0", dash: "" },
  { color: "#137333", dash: "6 4" },
  { color: "#b3261e", dash: "2 3" },
  { color: "#7627bb", dash: "10 4 2 4" },
  { color: "#8a4b00", dash: "1 5" },
];

function s(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  for (const child of children) if (child !== null) element.append(child);
  return element;
}

const TICKS = 4;

/** The axis maximum: TICKS steps of 1, 2 or 5 times a power of ten, covering `value`. */
export function niceMax(value) {
  if (!(value > 0)) return TICKS;
  const rough = value / TICKS;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].find((factor) => factor * power >= rough) * power;
  return step * TICKS;
}

/**
 * A chart of `series` ([{name, values}]) over `labels` (one per x position).
 * `format` turns a y value into text. Returns a <figure>.
 */
export function lineChart({ title, labels, series, format = String }) {
  const titleId = uniqueId("chart-title");
  const descId = uniqueId("chart-desc");
  const max = niceMax(Math.max(0, ...series.flatMap((line) => line.values)));
  const innerWidth = WIDTH - PAD.left - PAD.right;
  const innerHeight = HEIGHT - PAD.top - PAD.bottom;
  const x = (index) => PAD.left + (labels.length > 1 ? (index * innerWidth) / (labels.length - 1) : innerWidth / 2);
  const y = (value) => PAD.top + innerHeight - (value / max) * innerHeight;
  const totals = series.map((line) => `${line.name}: ${format(line.values.reduce((a, b) => a + b, 0))}`);
  const svg = s(
    "svg",
    {
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      role: "img",
      "aria-labelledby": `${titleId} ${descId}`,
      class: "chart",
      preserveAspectRatio: "xMidYMid meet",
    },
    s("title", { id: titleId }, title),
    s("desc", { id: descId }, `${labels.length} points from ${labels[0] ?? "—"} to ${labels.at(-1) ?? "—"}. Totals: ${totals.join(", ")}.`),
  );
  for (let tick = 0; tick <= TICKS; tick += 1) {
    const value = (max * tick) / TICKS;
    svg.append(
      s("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(value), y2: y(value), class: "grid" }),
      s("text", { x: PAD.left - 6, y: y(value) + 4, "text-anchor": "end", class: "tick" }, format(value)),
    );
  }
  const every = Math.max(1, Math.ceil(labels.length / 6));
  labels.forEach((label, index) => {
    if (index % every === 0 || index === labels.length - 1) {
      const anchor = index === 0 ? "start" : index === labels.length - 1 ? "end" : "middle";
      svg.append(s("text", { x: x(index), y: HEIGHT - 10, "text-anchor": anchor, class: "tick" }, label));
    }
  });
  svg.append(s("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(0), y2: y(0), class: "axis" }));
  series.forEach((line, index) => {
    const style = PALETTE[index % PALETTE.length];
    const points = line.values.map((value, i) => `${x(i).toFixed(1)},${y(value).toFixed(1)}`).join(" ");
    svg.append(
      s("polyline", {
        points,
        fill: "none",
        stroke: style.color,
        "stroke-width": 2.5,
        "stroke-dasharray": style.dash,
        "stroke-linejoin": "round",
        "data-series": line.name,
      }),
    );
  });
  const legend = h(
    "ul",
    { class: "legend", "aria-hidden": "true" },
    series.map((line, index) => {
      const style = PALETTE[index % PALETTE.length];
      return h(
        "li",
        {},
        s(
          "svg",
          { width: 28, height: 10, viewBox: "0 0 28 10", "aria-hidden": "true" },
          s("line", { x1: 0, x2: 28, y1: 5, y2: 5, stroke: style.color, "stroke-width": 3, "stroke-dasharray": style.dash }),
        ),
        ` ${line.name}`,
      );
    }),
  );
  const table = tableRegion(
    `${title}: data`,
    h(
      "table",
      { class: "data compact" },
      h("caption", {}, title),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Minute"), series.map((line) => h("th", { scope: "col", class: "number" }, line.name)))),
      h(
        "tbody",
        {},
        labels.map((label, index) =>
          h("tr", {}, h("th", { scope: "row" }, label), series.map((line) => h("td", { class: "number" }, format(line.values[index])))),
        ),
      ),
    ),
  );
  return h(
    "figure",
    { class: "chart-figure" },
    h("figcaption", {}, title),
    svg,
    legend,
    h("details", {}, h("summary", {}, "Show the numbers", h("span", { class: "visually-hidden" }, ` of ${title}`)), table),
  );
}
