// Cron expressions as operators write them, reduced to the set of matching values per calendar
// field — the form in which a schedule's spec can be compared with what the server reports.
// The server compiles a cron string into structured calendar ranges (describe() never returns the
// string), so "is the schedule's spec what we want?" is answered by expanding both to sets.
import type { CalendarSpecDescription, Range } from '@temporalio/client';

export interface CalendarSets {
  second: number[];
  minute: number[];
  hour: number[];
  dayOfMonth: number[];
  month: number[];
  dayOfWeek: number[];
  /** Empty: every year. */
  year: number[];
}

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldDef {
  name: keyof CalendarSets;
  label: string;
  min: number;
  max: number;
  names?: string[];
  /** Value of names[0]. */
  nameBase?: number;
}

const FIELDS: FieldDef[] = [
  { name: 'minute', label: 'minute', min: 0, max: 59 },
  { name: 'hour', label: 'hour', min: 0, max: 23 },
  { name: 'dayOfMonth', label: 'day of month', min: 1, max: 31 },
  { name: 'month', label: 'month', min: 1, max: 12, names: MONTH_NAMES, nameBase: 1 },
  // 7 is Sunday too, as in most crons.
  { name: 'dayOfWeek', label: 'day of week', min: 0, max: 7, names: DAY_NAMES, nameBase: 0 },
];

function range(start: number, end: number, step: number): number[] {
  const out: number[] = [];
  for (let v = start; v <= end; v += step) out.push(v);
  return out;
}

function parseValue(token: string, f: FieldDef): number | string {
  const upper = token.toUpperCase();
  if (f.names) {
    const i = f.names.indexOf(upper.slice(0, 3));
    if (i >= 0 && (upper.length === 3 || upper.startsWith(f.names[i]))) return i + (f.nameBase ?? 0);
  }
  if (!/^\d+$/.test(token)) return `'${token}' is not a number${f.names ? ` or a ${f.label} name` : ''}`;
  const v = Number(token);
  if (v < f.min || v > f.max) return `${f.label} ${v} is outside ${f.min}-${f.max}`;
  return v;
}

function parseField(text: string, f: FieldDef): number[] | string {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(part);
    if (!m) return `'${part}' is not a ${f.label} expression`;
    const step = m[2] === undefined ? 1 : Number(m[2]);
    if (step < 1) return `step in '${part}' must be at least 1`;
    let lo: number;
    let hi: number;
    if (m[1] === '*') {
      lo = f.min;
      hi = f.name === 'dayOfWeek' ? 6 : f.max;
    } else {
      const [a, b, extra] = m[1].split('-');
      if (extra !== undefined) return `'${part}' has more than one '-'`;
      const va = parseValue(a, f);
      if (typeof va === 'string') return va;
      lo = va;
      if (b !== undefined) {
        const vb = parseValue(b, f);
        if (typeof vb === 'string') return vb;
        hi = vb;
      } else {
        hi = m[2] === undefined ? va : f.name === 'dayOfWeek' ? 6 : f.max;
      }
      if (hi < lo) return `range '${m[1]}' runs backwards`;
    }
    for (const v of range(lo, hi, step)) values.add(f.name === 'dayOfWeek' && v === 7 ? 0 : v);
  }
  return [...values].sort((a, b) => a - b);
}

/** A 5-field cron ("minute hour day-of-month month day-of-week") as value sets, or the reason it is not one. */
export function parseCron(expr: string): { ok: true; sets: CalendarSets } | { ok: false; reason: string } {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5 || fields[0] === '') {
    return { ok: false, reason: `cron '${expr}' must have 5 fields: minute hour day-of-month month day-of-week (e.g. '0 2 * * *')` };
  }
  const sets: CalendarSets = { second: [0], minute: [], hour: [], dayOfMonth: [], month: [], dayOfWeek: [], year: [] };
  for (const [i, f] of FIELDS.entries()) {
    const r = parseField(fields[i], f);
    if (typeof r === 'string') return { ok: false, reason: `cron '${expr}', ${f.label} field: ${r}` };
    sets[f.name] = r;
  }
  return { ok: true, sets };
}

const MONTHS_FULL = ['JANUARY', 'FEBRUARY', 'MARCH', 'APRIL', 'MAY', 'JUNE', 'JULY', 'AUGUST', 'SEPTEMBER', 'OCTOBER', 'NOVEMBER', 'DECEMBER'];
const DAYS_FULL = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'];

function expandRanges<U>(ranges: readonly Range<U>[], toNumber: (u: U) => number): number[] {
  const values = new Set<number>();
  for (const r of ranges) {
    const start = toNumber(r.start);
    const end = r.end === undefined ? start : Math.max(start, toNumber(r.end));
    const step = r.step && r.step > 0 ? r.step : 1;
    for (const v of range(start, end, step)) values.add(v);
  }
  return [...values].sort((a, b) => a - b);
}

/** The server's description of one calendar, as value sets. */
export function calendarSets(c: CalendarSpecDescription): CalendarSets {
  const n = (v: number) => v;
  return {
    second: expandRanges(c.second, n),
    minute: expandRanges(c.minute, n),
    hour: expandRanges(c.hour, n),
    dayOfMonth: expandRanges(c.dayOfMonth, n),
    month: expandRanges(c.month, (m) => MONTHS_FULL.indexOf(m) + 1),
    dayOfWeek: expandRanges(c.dayOfWeek, (d) => DAYS_FULL.indexOf(d)),
    year: expandRanges(c.year, n),
  };
}

export function sameCalendarSets(a: readonly CalendarSets[], b: readonly CalendarSets[]): boolean {
  const key = (s: CalendarSets) => JSON.stringify([s.second, s.minute, s.hour, s.dayOfMonth, s.month, s.dayOfWeek, s.year]);
  const ka = a.map(key).sort();
  const kb = b.map(key).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}
