// Durations as operators type them ('16h', '90m', '1h30m', '500ms') or as milliseconds.
// Pure and deterministic so the workflow sandbox, update validators and zod schemas share one parser.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;

/** Upper bound for any duration we accept (a year): larger values are typos, and timers need finite ms. */
export const MAX_DURATION_MS = 366 * 86_400_000;

export type DurationInput = string | number;

/** Returns milliseconds, or a readable reason why the value is not a duration. */
export function parseDuration(value: unknown): { ok: true; ms: number } | { ok: false; reason: string } {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return { ok: false, reason: `duration must be finite, got ${String(value)}` };
    if (value < 0) return { ok: false, reason: `duration must not be negative, got ${value} ms` };
    if (value > MAX_DURATION_MS) return { ok: false, reason: `duration ${value} ms exceeds the maximum of 366d` };
    return { ok: true, ms: Math.round(value) };
  }
  if (typeof value !== 'string') {
    return { ok: false, reason: `duration must be a string like '16h' or a number of milliseconds, got ${describe(value)}` };
  }
  const text = value.trim();
  if (text.startsWith('-')) return { ok: false, reason: `duration must not be negative, got '${value}'` };
  if (!WHOLE.test(text)) {
    return { ok: false, reason: `'${value}' is not a duration: use a number with a unit, e.g. '30s', '5m', '16h', '1h30m'` };
  }
  let ms = 0;
  for (const m of text.matchAll(PART)) ms += Number(m[1]) * UNIT_MS[m[2]];
  if (ms > MAX_DURATION_MS) return { ok: false, reason: `duration '${value}' exceeds the maximum of 366d` };
  return { ok: true, ms: Math.round(ms) };
}

/** Compact human form for status output: 57600000 → '16h', 5400000 → '1h30m'. */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  const parts: string[] = [];
  let rest = Math.round(ms);
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0) parts.push(`${rest}ms`);
  return parts.join('');
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
