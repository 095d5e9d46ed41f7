// Escaping and number/time formatting for the HTML reports. Every string that reaches a report
// (config names, reasons, table names, operator names) goes through escapeHtml: reports are opened
// from disk by operators, and a hostile config name must render as text, never as markup.

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Safe in element content and in quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => ENTITIES[c]);
}

/** A number with fixed decimals; '—' for null, undefined, NaN or ±Infinity. */
export function fmtNumber(v: number | null | undefined, digits = 3): string {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '—';
}

/** A [0,1] rate as a percentage ('63.0 %'). */
export function fmtPct(v: number | null | undefined, digits = 1): string {
  return typeof v === 'number' && Number.isFinite(v) ? `${(v * 100).toFixed(digits)} %` : '—';
}

export function fmtMs(v: number | null | undefined): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ms`;
}

/** Epoch ms → '2026-11-22 04:58:45 UTC' (reports are read across time zones: always UTC). */
export function fmtTime(ms: number | null | undefined): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) return '—';
  return `${new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '')} UTC`;
}

/** Signed difference: '+8.0 pts' for rates, '+5.0 %' relative for latencies. */
export function fmtDelta(candidate: number | null | undefined, baseline: number | null | undefined, kind: 'rate' | 'latency'): string {
  if (typeof candidate !== 'number' || typeof baseline !== 'number' || !Number.isFinite(candidate) || !Number.isFinite(baseline)) return '—';
  if (kind === 'rate') {
    const d = (candidate - baseline) * 100;
    return `${d >= 0 ? '+' : ''}${d.toFixed(1)} pts`;
  }
  if (baseline === 0) return '—';
  const d = ((candidate - baseline) / baseline) * 100;
  return `${d >= 0 ? '+' : ''}${d.toFixed(1)} %`;
}
