// Small SVG charts drawn by hand: line, stacked bars and grouped horizontal bars.
// Each returns an <svg> element; every mark carries a <title> so hovering shows its value.

const NS = "http://www.w3.org/2000/svg";
export const PALETTE = ["#2563eb", "#f97316", "#16a34a", "#9333ea", "#dc2626", "#0891b2",
  "#ca8a04", "#db2777", "#4b5563", "#65a30d"];

function el(name, attrs = {}, text) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function titled(node, text) {
  node.appendChild(el("title", {}, text));
  return node;
}

// Round tick steps: 1, 2 or 5 times a power of ten.
export function niceTicks(max, count = 5, integer = false) {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  let step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  if (integer) step = Math.max(1, Math.round(step));
  const ticks = [];
  for (let v = 0; v <= max + step * 0.5; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1] < max) ticks.push(ticks[ticks.length - 1] + step);
  return ticks;
}

function frame(width, height, ticks, format, label) {
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img" });
  const pad = { left: 78, right: 16, top: 14, bottom: 46 };
  const top = ticks[ticks.length - 1] || 1;
  const y = (v) => pad.top + (height - pad.top - pad.bottom) * (1 - v / top);
  for (const t of ticks) {
    svg.appendChild(el("line", { x1: pad.left, x2: width - pad.right, y1: y(t), y2: y(t),
      class: "grid" }));
    svg.appendChild(el("text", { x: pad.left - 6, y: y(t) + 4, class: "tick", "text-anchor": "end" },
      format(t)));
  }
  svg.appendChild(el("text", { x: 12, y: height / 2, class: "axis-label",
    transform: `rotate(-90 12 ${height / 2})`, "text-anchor": "middle" }, label));
  return { svg, pad, y };
}

function xLabels(svg, labels, x, height, pad) {
  const every = Math.max(1, Math.ceil(labels.length / 10));
  labels.forEach((label, i) => {
    if (i % every !== 0 && i !== labels.length - 1) return;
    svg.appendChild(el("text", { x: x(i), y: height - pad.bottom + 16, class: "tick",
      "text-anchor": "middle" }, label));
  });
}

export function legend(series) {
  const box = document.createElement("div");
  box.className = "legend";
  series.forEach((s, i) => {
    const item = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.style.background = s.color || PALETTE[i % PALETTE.length];
    if (s.dash) swatch.className = "dashed";
    item.append(swatch, document.createTextNode(s.name));
    box.appendChild(item);
  });
  return box;
}

// series: [{name, values (null = no point), dash?, color?}]
export function lineChart({ labels, series, format, yLabel, width = 760, height = 280,
  xTitle = (i) => labels[i], tick = format }) {
  const max = Math.max(0, ...series.flatMap((s) => s.values.filter((v) => v !== null)));
  const { svg, pad, y } = frame(width, height, niceTicks(max), tick, yLabel);
  const span = Math.max(1, labels.length - 1);
  const x = (i) => pad.left + (width - pad.left - pad.right) * (i / span);
  xLabels(svg, labels, x, height, pad);
  series.forEach((s, k) => {
    const color = s.color || PALETTE[k % PALETTE.length];
    const points = s.values.map((v, i) => (v === null ? null : [x(i), y(v), v, i]))
      .filter((p) => p !== null);
    svg.appendChild(el("polyline", { points: points.map((p) => `${p[0]},${p[1]}`).join(" "),
      fill: "none", stroke: color, "stroke-width": 2,
      "stroke-dasharray": s.dash || "none", class: "series" }));
    if (!s.dash) {
      for (const [px, py, v, i] of points) {
        svg.appendChild(titled(el("circle", { cx: px, cy: py, r: 3, fill: color }),
          `${s.name}, ${xTitle(i)}: ${format(v)}`));
      }
    }
  });
  return svg;
}

// Bars per label, stacked by series: [{name, values}]
export function stackedBars({ labels, series, format, yLabel, width = 760, height = 280,
  tick = format, integer = false }) {
  const sums = labels.map((_, i) => series.reduce((a, s) => a + (s.values[i] || 0), 0));
  const ticks = niceTicks(Math.max(0, ...sums), 5, integer);
  const { svg, pad, y } = frame(width, height, ticks, tick, yLabel);
  const slot = (width - pad.left - pad.right) / Math.max(1, labels.length);
  const x = (i) => pad.left + slot * (i + 0.5);
  xLabels(svg, labels, x, height, pad);
  labels.forEach((label, i) => {
    let base = 0;
    series.forEach((s, k) => {
      const v = s.values[i] || 0;
      if (v <= 0) return;
      const rect = el("rect", { x: x(i) - slot * 0.38, width: slot * 0.76, y: y(base + v),
        height: Math.max(0.5, y(base) - y(base + v)), fill: s.color || PALETTE[k % PALETTE.length] });
      svg.appendChild(titled(rect, `${s.name}, ${label}: ${format(v)}`));
      base += v;
    });
  });
  return svg;
}

// Horizontal bars grouped by category: series [{name, values (null = not available)}]
export function groupedBars({ categories, series, format, xLabel, width = 760, tick = format,
  integer = false }) {
  const row = 18 * series.length + 14;
  const pad = { left: 170, right: 96, top: 8, bottom: 34 };
  const height = pad.top + pad.bottom + row * Math.max(1, categories.length);
  const max = Math.max(0, ...series.flatMap((s) => s.values.filter((v) => v !== null)));
  const ticks = niceTicks(max, 4, integer);
  const top = ticks[ticks.length - 1] || 1;
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img" });
  const x = (v) => pad.left + (width - pad.left - pad.right) * (v / top);
  for (const t of ticks) {
    svg.appendChild(el("line", { x1: x(t), x2: x(t), y1: pad.top, y2: height - pad.bottom,
      class: "grid" }));
    svg.appendChild(el("text", { x: x(t), y: height - pad.bottom + 14, class: "tick",
      "text-anchor": "middle" }, tick(t)));
  }
  svg.appendChild(el("text", { x: (pad.left + width - pad.right) / 2, y: height - 4,
    class: "axis-label", "text-anchor": "middle" }, xLabel));
  categories.forEach((category, c) => {
    const y0 = pad.top + row * c;
    svg.appendChild(el("text", { x: pad.left - 8, y: y0 + row / 2 + 4, class: "tick",
      "text-anchor": "end" }, category));
    series.forEach((s, k) => {
      const v = s.values[c];
      const yy = y0 + 7 + 18 * k;
      if (v === null || v === undefined) {
        svg.appendChild(el("text", { x: pad.left + 4, y: yy + 12, class: "na" }, "n/a"));
        return;
      }
      const rect = el("rect", { x: pad.left, y: yy, height: 14, width: Math.max(0.5, x(v) - pad.left),
        fill: s.color || PALETTE[k % PALETTE.length] });
      svg.appendChild(titled(rect, `${category}, ${s.name}: ${format(v)}`));
      svg.appendChild(el("text", { x: x(v) + 4, y: yy + 11, class: "value" }, format(v)));
    });
  });
  return svg;
}
