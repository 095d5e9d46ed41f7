// Inline SVG line charts for the HTML reports: no script, no font or network fetch, so a report
// renders the same from a laptop's disk at 3 a.m. as from CI artifacts. Gaps (null values) break
// a line instead of drawing a misleading straight segment across missing data.
import { escapeHtml } from './html-text';

export interface ChartPoint {
  x: number;
  y: number | null;
}

export interface ChartSeries {
  name: string;
  points: readonly ChartPoint[];
  color?: string;
  dashed?: boolean;
}

/** A horizontal reference line (a threshold, a target, the flat index's p95). */
export interface ReferenceLine {
  y: number;
  label: string;
  color?: string;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** 'log2' suits nprobe (1, 2, 4, … nlist). */
  xScale?: 'linear' | 'log2';
  xFormat?: (x: number) => string;
  yFormat?: (y: number) => string;
  /** Force the y range to include these (e.g. 0 and 1 for rates). */
  yInclude?: readonly number[];
  references?: readonly ReferenceLine[];
}

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

const MARGIN = { top: 28, right: 16, bottom: 42, left: 58 };

/** Round numbers for axis ticks: the 1/2/5 × 10^k step whose tick count is closest to `count`. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) return [min];
  const mag = 10 ** Math.floor(Math.log10((max - min) / Math.max(1, count)));
  const ticksFor = (step: number): number[] => {
    const out: number[] = [];
    for (let t = Math.ceil(min / step - 1e-9) * step; t <= max + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
    return out;
  };
  let best: number[] = [];
  for (const step of [1, 2, 5, 10, 20].map((m) => m * mag)) {
    const ticks = ticksFor(step);
    if (best.length === 0 || Math.abs(ticks.length - count) < Math.abs(best.length - count)) best = ticks;
  }
  return best;
}

function defaultFormat(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(1);
  return Number(v.toPrecision(4)).toString();
}

const num = (v: number): string => (Math.round(v * 100) / 100).toString();

/**
 * One SVG line chart. Returns a message figure instead when there is nothing to plot, so a report
 * always says why a chart is missing.
 */
export function lineChart(series: readonly ChartSeries[], opts: LineChartOptions): string {
  const width = opts.width ?? 520;
  const height = opts.height ?? 240;
  const log2 = opts.xScale === 'log2';
  const usable = (p: ChartPoint): p is { x: number; y: number } =>
    Number.isFinite(p.x) && (!log2 || p.x > 0) && typeof p.y === 'number' && Number.isFinite(p.y);
  const all = series.flatMap((s) => s.points.filter(usable));
  const title = escapeHtml(opts.title);
  if (all.length === 0) {
    return `<figure class="chart empty"><figcaption>${title}</figcaption><p class="muted">no data to plot</p></figure>`;
  }
  const tx = (x: number) => (log2 ? Math.log2(x) : x);
  let xMin = Math.min(...all.map((p) => tx(p.x)));
  let xMax = Math.max(...all.map((p) => tx(p.x)));
  const ys = [...all.map((p) => p.y), ...(opts.yInclude ?? []), ...(opts.references ?? []).map((r) => r.y)].filter(Number.isFinite);
  let yMin = Math.min(...ys);
  let yMax = Math.max(...ys);
  if (xMin === xMax) {
    xMin -= 1;
    xMax += 1;
  }
  if (yMin === yMax) {
    const pad = Math.abs(yMin) > 0 ? Math.abs(yMin) * 0.1 : 1;
    yMin -= pad;
    yMax += pad;
  } else {
    const pad = (yMax - yMin) * 0.05;
    yMin -= pad;
    yMax += pad;
  }
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const sx = (x: number) => MARGIN.left + ((tx(x) - xMin) / (xMax - xMin)) * plotW;
  const sy = (y: number) => MARGIN.top + (1 - (y - yMin) / (yMax - yMin)) * plotH;
  const fx = opts.xFormat ?? defaultFormat;
  const fy = opts.yFormat ?? defaultFormat;

  const parts: string[] = [];
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" class="plot-bg"/>`);
  // y grid and labels
  for (const t of niceTicks(yMin, yMax, 5)) {
    if (t < yMin || t > yMax) continue;
    const y = num(sy(t));
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y}" y2="${y}" class="grid"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${y}" class="tick" text-anchor="end" dominant-baseline="middle">${escapeHtml(fy(t))}</text>`);
  }
  // x ticks: the data's own x values for a log2 axis (nprobe values), nice numbers otherwise
  const xTicks = log2
    ? [...new Set(all.map((p) => p.x))].sort((a, b) => a - b)
    : niceTicks(xMin, xMax, Math.max(2, Math.min(6, Math.floor(plotW / 90))));
  for (const t of xTicks) {
    if (tx(t) < xMin || tx(t) > xMax) continue;
    const x = num(sx(t));
    parts.push(`<line x1="${x}" x2="${x}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH + 4}" class="axis"/>`);
    parts.push(`<text x="${x}" y="${MARGIN.top + plotH + 16}" class="tick" text-anchor="middle">${escapeHtml(fx(t))}</text>`);
  }
  parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH}" class="axis"/>`);
  parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" class="axis"/>`);
  for (const r of opts.references ?? []) {
    if (!Number.isFinite(r.y)) continue;
    const y = num(sy(r.y));
    const color = escapeHtml(r.color ?? '#555');
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y}" y2="${y}" stroke="${color}" stroke-dasharray="6 4" class="reference"/>`);
    parts.push(`<text x="${MARGIN.left + plotW - 4}" y="${num(sy(r.y) - 4)}" class="tick" text-anchor="end" fill="${color}">${escapeHtml(r.label)}</text>`);
  }
  series.forEach((s, i) => {
    const color = escapeHtml(s.color ?? PALETTE[i % PALETTE.length]);
    // Split at gaps so missing data stays visibly missing.
    const runs: { x: number; y: number }[][] = [[]];
    for (const p of s.points) {
      if (usable(p)) runs[runs.length - 1].push(p);
      else if (runs[runs.length - 1].length > 0) runs.push([]);
    }
    for (const run of runs) {
      if (run.length === 0) continue;
      const d = run.map((p, j) => `${j === 0 ? 'M' : 'L'}${num(sx(p.x))},${num(sy(p.y))}`).join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''} class="series"/>`);
    }
    // Markers with a tooltip; thinned for long series so a 48-hour timeline stays light.
    const pts = s.points.filter(usable);
    const every = Math.max(1, Math.ceil(pts.length / 120));
    pts.forEach((p, j) => {
      if (j % every !== 0 && j !== pts.length - 1) return;
      parts.push(
        `<circle cx="${num(sx(p.x))}" cy="${num(sy(p.y))}" r="2.5" fill="${color}"><title>${escapeHtml(`${s.name}: ${fy(p.y)} at ${fx(p.x)}`)}</title></circle>`,
      );
    });
  });
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${height - 6}" class="label" text-anchor="middle">${escapeHtml(opts.xLabel)}</text>`);
  parts.push(
    `<text x="14" y="${MARGIN.top + plotH / 2}" class="label" text-anchor="middle" transform="rotate(-90 14 ${num(MARGIN.top + plotH / 2)})">${escapeHtml(opts.yLabel)}</text>`,
  );
  parts.push(`<text x="${MARGIN.left}" y="16" class="chart-title">${title}</text>`);

  const legend = series
    .map((s, i) => `<span class="legend-item"><span class="swatch" style="background:${escapeHtml(s.color ?? PALETTE[i % PALETTE.length])}"></span>${escapeHtml(s.name)}</span>`)
    .join(' ');
  return (
    `<figure class="chart"><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${title}">` +
    `<title>${title}</title>${parts.join('')}</svg><figcaption>${legend}</figcaption></figure>`
  );
}
