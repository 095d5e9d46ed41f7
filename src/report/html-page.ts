// The page shell every HTML report shares: inline CSS, system fonts, and a Content-Security-Policy
// that forbids scripts and every network fetch — the report is self-contained by construction, and
// even a string that slipped past escaping could not run or phone home.
import { escapeHtml } from './html-text';

export const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const CSS = `
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 24px auto; max-width: 1180px; padding: 0 16px; color: #1b1f24; background: #fff; }
h1 { font-size: 1.6rem; margin-bottom: 4px; }
h2 { font-size: 1.2rem; margin-top: 32px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
h3 { font-size: 1rem; margin-top: 20px; }
.muted { color: #57606a; }
table { border-collapse: collapse; margin: 8px 0; font-size: 0.9rem; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 0.85em; word-break: break-all; }
.verdict { font-weight: 600; border-radius: 4px; padding: 1px 6px; white-space: nowrap; }
.verdict-pass { background: #dafbe1; color: #116329; }
.verdict-inconclusive { background: #fff8c5; color: #7d4e00; }
.verdict-fail { background: #ffebe9; color: #a40e26; }
tr.verdict-row-fail td { background: #fff5f5; }
tr.verdict-row-inconclusive td { background: #fffdf0; }
.phase { font-weight: 600; border-radius: 4px; padding: 2px 8px; background: #ddf4ff; color: #0550ae; }
.phase-rolled-back, .phase-failed { background: #ffebe9; color: #a40e26; }
.phase-done { background: #dafbe1; color: #116329; }
.phase-awaiting-operator { background: #fff8c5; color: #7d4e00; }
.box { border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 14px; margin: 12px 0; }
.box.bad { border-color: #ff8182; background: #fff5f5; }
.box.good { border-color: #4ac26b; background: #f6fff8; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
figure.chart { margin: 0; border: 1px solid #d0d7de; border-radius: 6px; padding: 6px; background: #fff; }
figure.chart figcaption { font-size: 0.8rem; padding: 2px 4px; }
svg .plot-bg { fill: #fbfcfd; }
svg .grid { stroke: #e6e9ed; stroke-width: 1; }
svg .axis { stroke: #57606a; stroke-width: 1; }
svg .tick { font-size: 10px; fill: #57606a; }
svg .label { font-size: 11px; fill: #1b1f24; }
svg .chart-title { font-size: 12px; font-weight: 600; fill: #1b1f24; }
.legend-item { margin-right: 12px; white-space: nowrap; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; vertical-align: middle; }
footer { margin-top: 40px; font-size: 0.8rem; color: #57606a; }
`;

/** A complete HTML document; `body` must already be escaped markup. */
export function htmlPage(title: string, body: string, footer: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(REPORT_CSP)}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="generator" content="bakeoff">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    body,
    `<footer>${footer}</footer>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
