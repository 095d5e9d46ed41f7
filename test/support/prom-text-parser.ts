// A strict parser for the Prometheus text exposition format 0.0.4, written for the tests so /metrics
// is checked by something other than the library that produced it. It rejects what a Prometheus
// server would reject (bad names, bad escapes, unparsable values, duplicate series, TYPE after
// samples, interleaved families) and also checks histogram invariants: cumulative buckets that never
// decrease, a +Inf bucket equal to _count, and a _sum.
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help: string | null;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export class PromParseError extends Error {}

function parseValue(s: string, line: number): number {
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new PromParseError(`line ${line}: ${JSON.stringify(s)} is not a sample value`);
  return Number(s);
}

/** Parses `{a="x",b="y"}` starting at text[i] === '{'; returns the labels and the index after '}'. */
function parseLabels(text: string, i: number, line: number): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  i++; // '{'
  for (;;) {
    if (text[i] === '}') return [labels, i + 1];
    const m = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(text.slice(i));
    if (!m) throw new PromParseError(`line ${line}: bad label name at column ${i + 1}`);
    const name = m[0];
    i += name.length;
    if (text[i] !== '=' || text[i + 1] !== '"') throw new PromParseError(`line ${line}: expected ="…" after label ${name}`);
    i += 2;
    let value = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) throw new PromParseError(`line ${line}: unterminated value of label ${name}`);
      if (c === '"') break;
      if (c === '\\') {
        const e = text[i + 1];
        if (e === '\\') value += '\\';
        else if (e === '"') value += '"';
        else if (e === 'n') value += '\n';
        else throw new PromParseError(`line ${line}: bad escape \\${e} in label ${name}`);
        i += 2;
      } else {
        value += c;
        i++;
      }
    }
    i++; // closing quote
    if (name in labels) throw new PromParseError(`line ${line}: label ${name} repeated`);
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new PromParseError(`line ${line}: reserved or bad label name ${name}`);
    labels[name] = value;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new PromParseError(`line ${line}: expected , or } after label ${name}`);
  }
}

/** The family a sample belongs to: histogram/summary samples carry a suffix. */
function familyOf(sampleName: string, families: Map<string, MetricFamily>): MetricFamily | undefined {
  const direct = families.get(sampleName);
  if (direct) return direct;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (sampleName.endsWith(suffix)) {
      const f = families.get(sampleName.slice(0, -suffix.length));
      if (f && (f.type === 'histogram' || f.type === 'summary')) return f;
    }
  }
  return undefined;
}

export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const seenSeries = new Set<string>();
  const closed = new Set<string>();
  let current: MetricFamily | null = null;
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, idx) => {
    const line = idx + 1;
    if (raw.trim() === '') return;
    if (raw.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(raw);
      if (!m) return; // a plain comment
      const [, kind, name, rest = ''] = m;
      if (!METRIC_NAME.test(name)) throw new PromParseError(`line ${line}: bad metric name ${name}`);
      let f = families.get(name);
      if (f && closed.has(name)) throw new PromParseError(`line ${line}: ${kind} for ${name} after its samples ended`);
      if (!f) {
        if (current) closed.add(current.name);
        f = { name, type: 'untyped', help: null, samples: [] };
        families.set(name, f);
      }
      if (kind === 'TYPE') {
        if (!TYPES.has(rest as MetricType)) throw new PromParseError(`line ${line}: unknown type ${rest}`);
        if (f.samples.length > 0) throw new PromParseError(`line ${line}: TYPE of ${name} after its samples`);
        f.type = rest as MetricType;
      } else {
        if (f.help !== null) throw new PromParseError(`line ${line}: second HELP for ${name}`);
        f.help = rest;
      }
      current = f;
      return;
    }
    const nm = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(raw);
    if (!nm) throw new PromParseError(`line ${line}: a sample must start with a metric name`);
    const name = nm[0];
    let i = name.length;
    let labels: Record<string, string> = {};
    if (raw[i] === '{') [labels, i] = parseLabels(raw, i, line);
    if (raw[i] !== ' ') throw new PromParseError(`line ${line}: expected a space before the value`);
    const parts = raw.slice(i + 1).trim().split(/\s+/);
    if (parts.length < 1 || parts.length > 2) throw new PromParseError(`line ${line}: expected "value [timestamp]"`);
    const value = parseValue(parts[0], line);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new PromParseError(`line ${line}: bad timestamp ${parts[1]}`);
    let f = familyOf(name, families);
    if (!f) {
      f = { name, type: 'untyped', help: null, samples: [] };
      families.set(name, f);
    }
    if (closed.has(f.name)) throw new PromParseError(`line ${line}: samples of ${f.name} are not contiguous`);
    if (current && current !== f) closed.add(current.name);
    current = f;
    const series = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seenSeries.has(series)) throw new PromParseError(`line ${line}: duplicate series ${series}`);
    seenSeries.add(series);
    if (f.type === 'counter' && !(value >= 0)) throw new PromParseError(`line ${line}: counter ${name} is ${value}`);
    f.samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function checkHistogram(f: MetricFamily): void {
  const groups = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const g = groups.get(key) ?? { buckets: [] };
    groups.set(key, g);
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new PromParseError(`${f.name}: a bucket without le`);
      g.buckets.push([parseValue(le, 0), s.value]);
    } else if (s.name === `${f.name}_sum`) g.sum = s.value;
    else if (s.name === `${f.name}_count`) g.count = s.value;
    else throw new PromParseError(`${f.name}: unexpected sample ${s.name} in a histogram`);
  }
  for (const [key, g] of groups) {
    if (g.sum === undefined || g.count === undefined) throw new PromParseError(`${f.name}${key}: missing _sum or _count`);
    const sorted = [...g.buckets].sort((a, b) => a[0] - b[0]);
    if (sorted.length === 0 || sorted[sorted.length - 1][0] !== Infinity) throw new PromParseError(`${f.name}${key}: no le="+Inf" bucket`);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i][1] < sorted[i - 1][1]) throw new PromParseError(`${f.name}${key}: bucket le=${sorted[i][0]} is below le=${sorted[i - 1][0]}`);
    }
    if (sorted[sorted.length - 1][1] !== g.count) throw new PromParseError(`${f.name}${key}: +Inf bucket ${sorted[sorted.length - 1][1]} ≠ _count ${g.count}`);
  }
}

/** Sum of a family's samples (of one sample name) whose labels include `match`. */
export function sumSamples(families: Map<string, MetricFamily>, sampleName: string, match: Record<string, string> = {}): number {
  let total = 0;
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== sampleName) continue;
      if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) total += s.value;
    }
  }
  return total;
}
