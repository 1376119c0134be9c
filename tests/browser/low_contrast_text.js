// Elements whose text has less than 4.5:1 contrast with the background it is drawn on
// (WCAG 2 AA, normal text), as "tag.class: ratio". Run with page.evaluate.
() => {
  const parse = (css) => {
    const match = css.match(/rgba?\(([^)]+)\)/);
    if (!match) return null;
    const [r, g, b, a = 1] = match[1].split(/[\s,/]+/).filter(Boolean).map(Number);
    return { r, g, b, a };
  };
  const channel = (value) => {
    const s = value / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  const luminance = ({ r, g, b }) =>
    0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const background = (element) => {
    for (let e = element; e; e = e.parentElement) {
      const colour = parse(getComputedStyle(e).backgroundColor);
      if (colour && colour.a > 0) return colour;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const low = [];
  for (const element of document.querySelectorAll("body *")) {
    if (element.closest("svg, .visually-hidden, .skip-link")) continue;
    const hasText = [...element.childNodes].some(
      (node) => node.nodeType === Node.TEXT_NODE && node.textContent.trim(),
    );
    const rect = element.getBoundingClientRect();
    if (!hasText || !rect.width || !rect.height) continue;
    const foreground = parse(getComputedStyle(element).color);
    if (!foreground) continue;
    const [light, dark] = [luminance(foreground), luminance(background(element))].sort(
      (a, b) => b - a,
    );
    const ratio = (light + 0.05) / (dark + 0.05);
    if (ratio < 4.5) {
      low.push(`${element.tagName.toLowerCase()}.${element.className}: ${ratio.toFixed(2)}`);
    }
  }
  return low;
}
