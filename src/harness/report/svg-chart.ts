/**
 * Small line charts as inline SVG, drawn here rather than by a chart library so that a report is one file
 * that opens offline and renders without running any script.
 */

export interface ChartSeries {
  name: string;
  /** [x, y] in the chart's units; y undefined leaves a gap. */
  points: ReadonlyArray<readonly [number, number | undefined]>;
  /** Drawn dashed (a target, a limit). */
  dashed?: boolean;
}

/** A vertical line at `x` (a fault), optionally with a shaded span to `toX` (its outage). */
export interface ChartMarker {
  x: number;
  toX?: number;
  label: string;
}

export interface LineChart {
  id: string;
  title: string;
  yLabel: string;
  xLabel?: string;
  series: readonly ChartSeries[];
  markers?: readonly ChartMarker[];
  /** Faint vertical lines (phase boundaries). */
  gridX?: readonly number[];
}

const WIDTH = 860;
const HEIGHT = 260;
const PAD = { left: 64, right: 16, top: 28, bottom: 40 };
const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

export function renderLineChart(chart: LineChart): string {
  const drawn = chart.series.filter((s) => s.points.some(([, y]) => y !== undefined));
  const xs = drawn.flatMap((s) => s.points.map(([x]) => x));
  const ys = drawn.flatMap((s) => s.points.flatMap(([, y]) => (y === undefined ? [] : [y])));
  const xMax = Math.max(1, ...xs, ...(chart.markers ?? []).map((m) => m.toX ?? m.x));
  const yMax = niceCeiling(Math.max(0, ...ys));
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const sx = (x: number) => PAD.left + (x / xMax) * plotW;
  const sy = (y: number) => PAD.top + plotH - (y / yMax) * plotH;
  const parts: string[] = [];
  parts.push(`<text x="${PAD.left}" y="18" class="chart-title">${escapeHtml(chart.title)}</text>`);
  for (const tick of ticks(yMax)) {
    parts.push(
      `<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${f(sy(tick))}" y2="${f(sy(tick))}" class="grid"/>`,
      `<text x="${PAD.left - 6}" y="${f(sy(tick) + 4)}" text-anchor="end" class="tick">${formatTick(tick)}</text>`,
    );
  }
  for (const tick of ticks(xMax)) {
    parts.push(
      `<text x="${f(sx(tick))}" y="${HEIGHT - PAD.bottom + 16}" text-anchor="middle" class="tick">${formatTick(tick)}</text>`,
    );
  }
  for (const x of chart.gridX ?? []) {
    parts.push(
      `<line x1="${f(sx(x))}" x2="${f(sx(x))}" y1="${PAD.top}" y2="${PAD.top + plotH}" class="phase"/>`,
    );
  }
  for (const marker of chart.markers ?? []) {
    if (marker.toX !== undefined && marker.toX > marker.x) {
      parts.push(
        `<rect x="${f(sx(marker.x))}" y="${PAD.top}" width="${f(sx(marker.toX) - sx(marker.x))}" height="${plotH}" class="outage"/>`,
      );
    }
    parts.push(
      `<line x1="${f(sx(marker.x))}" x2="${f(sx(marker.x))}" y1="${PAD.top}" y2="${PAD.top + plotH}" class="fault"><title>${escapeHtml(marker.label)}</title></line>`,
      `<text x="${f(sx(marker.x) + 3)}" y="${PAD.top + 10}" class="fault-label">${escapeHtml(marker.label)}</text>`,
    );
  }
  drawn.forEach((series, index) => {
    const color = PALETTE[index % PALETTE.length];
    parts.push(
      `<path d="${pathOf(series.points, sx, sy)}" fill="none" stroke="${color}" stroke-width="1.6"${series.dashed ? ' stroke-dasharray="5 4"' : ""} class="series"><title>${escapeHtml(series.name)}</title></path>`,
    );
  });
  parts.push(
    `<line x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${PAD.top + plotH}" class="axis"/>`,
    `<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${PAD.top + plotH}" y2="${PAD.top + plotH}" class="axis"/>`,
    `<text x="${PAD.left + plotW / 2}" y="${HEIGHT - 6}" text-anchor="middle" class="tick">${escapeHtml(chart.xLabel ?? "seconds since the measured load started")}</text>`,
    `<text transform="translate(14 ${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle" class="tick">${escapeHtml(chart.yLabel)}</text>`,
  );
  if (drawn.length === 0) {
    parts.push(
      `<text x="${PAD.left + plotW / 2}" y="${PAD.top + plotH / 2}" text-anchor="middle" class="empty">no data</text>`,
    );
  }
  const legend = drawn
    .map(
      (series, index) =>
        `<span class="legend-item"><span class="swatch" style="background:${PALETTE[index % PALETTE.length]}"></span>${escapeHtml(series.name)}</span>`,
    )
    .join("");
  return `<figure class="chart" id="${escapeHtml(chart.id)}" data-series="${drawn.length}"><svg viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${escapeHtml(chart.title)}">${parts.join("")}</svg><figcaption>${legend}</figcaption></figure>`;
}

/** Runs of defined points become `M…L…` segments; a gap starts a new one. */
function pathOf(points: ChartSeries["points"], sx: (x: number) => number, sy: (y: number) => number): string {
  let d = "";
  let pen = false;
  for (const [x, y] of points) {
    if (y === undefined) {
      pen = false;
      continue;
    }
    d += `${pen ? "L" : "M"}${f(sx(x))} ${f(sy(y))}`;
    pen = true;
  }
  return d;
}

/** 1, 2 or 5 times a power of ten, at or above `value` (at least 1). */
function niceCeiling(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function ticks(max: number): number[] {
  const step = niceCeiling(max / 5);
  const out: number[] = [];
  for (let t = 0; t <= max + step / 1e6; t += step) out.push(t);
  return out;
}

const formatTick = (n: number): string =>
  n >= 1000 ? `${Number((n / 1000).toFixed(1))}k` : String(Number(n.toFixed(2)));
const f = (n: number): string => n.toFixed(1);

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
