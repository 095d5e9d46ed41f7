// HTML reports: escaping against a hostile config/operator name, the gate and metrics tables, the
// SVG charts, stage spans from the workflow's events, the canary timeline and trend read from a real
// database (PGlite and the real PostgreSQL), and the report activity writing HTML beside its JSON.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensurePlatformSchema } from '../../src/activities';
import { recordLiveKpiWindow } from '../../src/store/live-kpis';
import { appendEvaluation } from '../../src/store/evaluation-history';
import { createReportActivities } from '../../src/activities/report';
import type { Db } from '../../src/platform/db';
import type { SweepResult } from '../../src/rag/nprobe-sweep';
import { loadCanaryTimeline, stageSpans, downsample, type KpiWindowPoint } from '../../src/report/canary-timeline';
import { renderBakeoffReport, renderEvaluationReport } from '../../src/report/html-report';
import { lineChart, niceTicks } from '../../src/report/svg-charts';
import { computeTrend, DAY_MS, loadEvaluationTrends, type TrendPoint } from '../../src/schedules/evaluation-trend';
import { engines } from '../rag/db-engines';
import { evalReport, H, rolledBackStatus, T0 } from './status-fixture';

/** Every element a report may contain; anything else means markup leaked in from data. */
const ALLOWED_TAGS = new Set([
  'html', 'head', 'meta', 'title', 'style', 'body', 'footer', 'h1', 'h2', 'h3', 'p', 'div', 'span', 'strong', 'em', 'code', 'br',
  'table', 'thead', 'tbody', 'tr', 'th', 'td', 'figure', 'figcaption', 'svg', 'rect', 'line', 'text', 'path', 'circle',
]);

/** Real tags with their quoted attribute values blanked (escaped text can form neither a tag nor a quote). */
function tagSkeletons(html: string): string[] {
  return [...html.matchAll(/<[a-zA-Z][^>]*>/g)].map((m) => m[0].replace(/"[^"]*"/g, '""'));
}

/** Event-handler attributes on real tags. */
function handlerAttributes(html: string): string[] {
  return tagSkeletons(html).filter((tag) => /\son[a-z]+\s*=/i.test(tag));
}

function tagsOf(html: string): string[] {
  return [...html.matchAll(/<([a-zA-Z][a-zA-Z0-9-]*)/g)].map((m) => m[1].toLowerCase());
}

const HOSTILE = `evil"><script>alert(1)</script><img src=x onerror=alert(2)>'\`<svg onload=alert(3)>`;

const sweep: SweepResult = {
  k: 10, queries: 200, ntotal: 1200, dim: 384, nlist: 32,
  targets: { minOverlap: 0.95, maxP95Ms: null, minSpeedup: null },
  flat: { p50Ms: 0.9, p95Ms: 1.4, meanMs: 1 },
  points: [1, 2, 4, 8, 16, 32].map((nprobe, i) => ({
    nprobe, overlapAtK: [0.41, 0.62, 0.81, 0.93, 0.98, 1][i], p50Ms: 0.05 * 2 ** i, p95Ms: 0.08 * 2 ** i, meanMs: 0.06 * 2 ** i,
    speedupP50: 0.9 / (0.05 * 2 ** i), speedupP95: 1.4 / (0.08 * 2 ** i), meetsTargets: i >= 4,
  })),
  skipped: [],
  chosen: { nprobe: 16, overlapAtK: 0.98, p95Ms: 1.28, speedupP95: 1.09 },
  reason: 'nprobe 16 is the smallest meeting overlap@10 >= 0.95',
};

describe('escaping', () => {
  test('a hostile config, operator and reason render as text: no element or handler from data', () => {
    const status = rolledBackStatus({
      workflowId: `bakeoff-${HOSTILE}`,
      requestedBy: HOSTILE,
      shadowTable: HOSTILE,
      configHash: HOSTILE,
      rollback: { ...rolledBackStatus().rollback!, by: HOSTILE, reason: HOSTILE },
      gates: [{ name: HOSTILE, source: 'offline', value: 1, baseline: 0, threshold: 0.5, direction: 'higher-is-better', verdict: 'pass', reason: HOSTILE }],
      events: [{ at: T0, kind: 'note', message: HOSTILE, by: HOSTILE }],
    });
    const html = renderBakeoffReport({ status, sweep, generatedAt: T0 });
    const bad = tagsOf(html).filter((t) => !ALLOWED_TAGS.has(t));
    expect(bad).toEqual([]);
    expect(handlerAttributes(html)).toEqual([]);
    expect(html).not.toMatch(/javascript:/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('evil&quot;&gt;');
    // Exactly one <script-free> CSP, and nothing that could fetch: no src/href attributes at all.
    expect(html).toContain(`http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;`);
    expect(tagSkeletons(html).filter((tag) => /\s(src|href|xlink:href)\s*=/i.test(tag))).toEqual([]);
    for (const url of html.match(/https?:\/\/[^"\s<]+/g) ?? []) expect(url).toBe('http://www.w3.org/2000/svg'); // an XML namespace, never fetched
  });

  test('a hostile evaluation title and case text are escaped too', () => {
    const html = renderEvaluationReport({
      title: HOSTILE,
      runs: [evalReport('baseline', 0.5, 20)],
      cases: [{ case_id: HOSTILE, question: HOSTILE, gold_doc_id: HOSTILE, hit: 0, gold_doc_rank: null, f1: 0 } as never],
      meta: { [HOSTILE]: HOSTILE },
    });
    expect(tagsOf(html).filter((t) => !ALLOWED_TAGS.has(t))).toEqual([]);
    expect(handlerAttributes(html)).toEqual([]);
  });
});

describe('bakeoff report content', () => {
  const html = renderBakeoffReport({ status: rolledBackStatus(), sweep, generatedAt: T0 + 20 * H });

  test('the gate table shows value, baseline, threshold, direction and a colour-coded verdict per gate', () => {
    const row = (name: string) => html.match(new RegExp(`<tr class="verdict-row-(\\w+)" data-gate="${name}">(.*?)</tr>`))!;
    const hit = row('hit_rate');
    expect(hit[1]).toBe('pass');
    expect(hit[2]).toContain('<td class="num">0.63</td><td class="num">0.55</td><td class="num">0.6 … 0.7</td><td>within-band</td>');
    expect(hit[2]).toContain('<span class="verdict verdict-pass">pass</span>');
    expect(row('p95_total_ms')[2]).toContain('≤ 23');
    expect(row('precision')[1]).toBe('inconclusive');
    expect(row('precision')[2]).toContain('≥ 0.68');
    const probe = row('probe:prefix_leakage_rows');
    expect(probe[1]).toBe('fail');
    expect(probe[2]).toContain('<td class="num">—</td>'); // an absolute check has no baseline
    expect(html).toMatch(/\.verdict-fail \{ background: #ffebe9/);
  });

  test('baseline vs candidate metrics with deltas in points and percent', () => {
    const hit = html.match(/<tr data-metric="hit_rate">(.*?)<\/tr>/)![1];
    expect(hit).toBe('<td>hit_rate</td><td class="num">0.550</td><td class="num">0.630</td><td class="num">+8.0 pts</td>');
    const p95 = html.match(/<tr data-metric="total_p95_ms">(.*?)<\/tr>/)![1];
    expect(p95).toContain('20.0 ms</td><td class="num">21.0 ms</td><td class="num">+5.0 %');
  });

  test('the rollback says who and why; the sweep is drawn as two inline SVG curves', () => {
    expect(html).toContain('<strong data-rollback-by>bob</strong>');
    expect(html).toContain('<span data-rollback-reason>p95 spike on the dashboard</span>');
    expect(html).toContain('data-phase="rolled-back"');
    const sweepPart = html.slice(html.indexOf('id="sweep-curve"'), html.indexOf('id="sweep-table"'));
    expect(sweepPart.match(/<svg /g)).toHaveLength(2);
    // log2 axis: one tick label per swept nprobe
    for (const n of [1, 2, 4, 8, 16, 32]) expect(sweepPart).toContain(`text-anchor="middle">${n}</text>`);
    expect(sweepPart).toContain('target 0.95');
    expect(html).toContain('<td class="num">16 ✓</td>');
  });

  test('without canary windows, sweep or trend the sections say what is missing', () => {
    const bare = renderBakeoffReport(rolledBackStatus({ evaluation: null, gates: [] }));
    expect(bare).toContain('no canary stage ran');
    expect(bare).toContain('no sweep recorded for this index');
    expect(bare).toContain('no scheduled evaluations of this lane in the last 7 days');
    expect(bare).toContain('not evaluated yet');
    expect(bare).toContain('no gates judged yet');
  });
});

describe('svg charts', () => {
  test('a gap (null) splits the line; every point is plotted inside the frame', () => {
    const svg = lineChart([{ name: 's', points: [{ x: 0, y: 1 }, { x: 1, y: 2 }, { x: 2, y: null }, { x: 3, y: 4 }, { x: 4, y: 3 }] }], {
      title: 't', xLabel: 'x', yLabel: 'y', width: 400, height: 200,
    });
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg.match(/<circle /g)).toHaveLength(4);
    for (const m of svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)) {
      expect(Number(m[1])).toBeGreaterThanOrEqual(58);
      expect(Number(m[1])).toBeLessThanOrEqual(384);
      expect(Number(m[2])).toBeGreaterThanOrEqual(28);
      expect(Number(m[2])).toBeLessThanOrEqual(158);
    }
  });

  test('nothing to plot gives a caption instead of an empty frame; NaN and Infinity are dropped', () => {
    expect(lineChart([{ name: 's', points: [{ x: 1, y: NaN }, { x: 2, y: Infinity }] }], { title: 'empty', xLabel: 'x', yLabel: 'y' })).toContain('no data to plot');
  });

  test('ticks are round numbers covering the range', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(13, 97, 4)).toEqual([20, 40, 60, 80]);
  });
});

describe('stage spans and downsampling', () => {
  test('stages come from the workflow phase events; a rollback ends the open stage', () => {
    expect(stageSpans(rolledBackStatus())).toEqual([
      { index: 0, percent: 10, startedAt: T0, endedAt: T0 + 16 * H, open: false },
      { index: 1, percent: 50, startedAt: T0 + 16 * H, endedAt: T0 + 18 * H + 1, open: false },
    ]);
  });

  test('a running stage whose start event was trimmed is taken from status.stage', () => {
    const s = rolledBackStatus({
      phase: 'canary',
      events: [],
      asOf: T0 + 20 * H,
      stage: { index: 2, percent: 100, soakMs: 16 * H, remainingMs: 12 * H, endsAt: null, startedAt: T0 + 16 * H },
    });
    expect(stageSpans(s)).toEqual([{ index: 2, percent: 100, startedAt: T0 + 16 * H, endedAt: T0 + 20 * H, open: true }]);
  });

  test('downsampling keeps the sample-weighted mean and the whole time span', () => {
    const pts: KpiWindowPoint[] = Array.from({ length: 10 }, (_, i) => ({
      side: 'candidate', windowStart: i * 10, windowEnd: (i + 1) * 10, samples: i + 1, errorRate: null, p95Ms: i, qualityProxy: 0.5,
    }));
    const d = downsample(pts, 5);
    expect(d).toHaveLength(5);
    expect(d[0]).toMatchObject({ windowStart: 0, windowEnd: 20, samples: 3, p95Ms: (0 * 1 + 1 * 2) / 3, errorRate: null });
    expect(d.reduce((n, p) => n + p.samples, 0)).toBe(55);
  });
});

describe('7-day trend', () => {
  const now = Date.parse('2026-11-22T02:00:00Z');
  const point = (daysAgo: number, hit: number, p95: number): TrendPoint => ({
    at: now - daysAgo * DAY_MS, workflowId: `w${daysAgo}`, cases: 20,
    values: { hit_rate: hit, mrr: hit, ndcg: hit, recall: hit, f1: 0.6, precision: 0.7, p95_total_ms: p95 },
  });

  test('least-squares slope per day, direction and whether it is better; older runs are outside the window', () => {
    const pts = [point(9, 0.1, 10), point(6, 0.6, 20), point(4, 0.58, 22), point(2, 0.56, 24), point(0, 0.54, 26)];
    const t = computeTrend(pts, { lane: 'default', kind: 'smoke', now });
    expect(t.runs).toBe(4);
    const hit = t.metrics.find((m) => m.metric === 'hit_rate')!;
    expect(hit).toMatchObject({ n: 4, first: 0.6, last: 0.54, direction: 'down', improving: false });
    expect(hit.slopePerDay).toBeCloseTo(-0.01, 10);
    expect(hit.change).toBeCloseTo(-0.06, 10);
    const p95 = t.metrics.find((m) => m.metric === 'p95_total_ms')!;
    expect(p95).toMatchObject({ direction: 'up', improving: false });
    expect(p95.slopePerDay).toBeCloseTo(1, 10);
    expect(t.metrics.find((m) => m.metric === 'f1')).toMatchObject({ direction: 'flat', improving: null, slopePerDay: 0 });
  });

  test('one run is not a trend', () => {
    const t = computeTrend([point(1, 0.6, 20)], { lane: 'default', kind: 'full', now });
    expect(t.metrics.every((m) => m.direction === 'insufficient' && m.slopePerDay === null)).toBe(true);
  });
});

describe.each(engines())('report data on $name', (engine) => {
  let db: Db;
  let close: () => Promise<void>;
  let dir: string;
  beforeAll(async () => {
    ({ db, close } = await engine.open());
    await ensurePlatformSchema(db);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-report-'));
  });
  afterAll(async () => {
    await close?.();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function writeWindows(lane: string, side: 'baseline' | 'candidate', from: number, to: number, stepMs: number, p95: number): Promise<void> {
    for (let t = from; t < to; t += stepMs) {
      await recordLiveKpiWindow(db, { lane, side, windowStart: new Date(t), windowEnd: new Date(t + stepMs), samples: 100, errorRate: 0.01, p95Ms: p95, qualityProxy: 0.8 });
    }
  }

  test('the canary timeline holds each stage’s windows (a window belongs to the stage it ended in)', async () => {
    const lane = 'timeline';
    const status = rolledBackStatus({ lane });
    // 1 h windows from 1 h before stage 1 to 2 h after the rollback; another lane must not leak in.
    await writeWindows(lane, 'baseline', T0 - H, T0 + 20 * H, H, 20);
    await writeWindows(lane, 'candidate', T0 - H, T0 + 20 * H, H, 22);
    await writeWindows('other_lane', 'candidate', T0, T0 + 20 * H, H, 999);
    const tl = (await loadCanaryTimeline(db, status))!;
    expect(tl.stages.map((s) => [s.index, s.percent, s.windows.length])).toEqual([
      [0, 10, 32], // windows ending T0+1h … T0+16h, both sides
      [1, 50, 4], // ending T0+17h, T0+18h (the rollback event is 1 ms after 18 h)
    ]);
    expect(tl.stages[1].windows.filter((w) => w.side === 'candidate').map((w) => w.p95Ms)).toEqual([22, 22]);

    const html = renderBakeoffReport({ status, canary: tl });
    const stages = html.match(/<tr data-stage="(\d)">/g);
    expect(stages).toHaveLength(2);
    const timeline = html.slice(html.indexOf('<div id="canary-timeline">'));
    expect(timeline.match(/<svg /g)).toHaveLength(6); // p95, error rate, quality per stage
    expect(timeline).toContain('Stage 2: p95 latency');
  });

  test('the report activity writes the HTML next to its JSON, with the timeline and the lane trend', async () => {
    const lane = 'activity';
    const status = rolledBackStatus({ lane, workflowId: 'bakeoff-activity-1' });
    await writeWindows(lane, 'baseline', T0, T0 + 18 * H, 2 * H, 20);
    await writeWindows(lane, 'candidate', T0, T0 + 18 * H, 2 * H, 30);
    for (const [i, hit] of [0.5, 0.52, 0.55].entries()) {
      await appendEvaluation(db, {
        idempotencyKey: `trend-${i}`, scheduleId: 's', workflowId: `eval-${i}`, kind: 'smoke', lane, pointerVersion: 1, configHash: null,
        caseSetRef: 'faq:dev[:20]', startedAt: status.asOf - (3 - i) * DAY_MS, report: evalReport('baseline', hit, 20), index: null,
      });
    }
    const trends = await loadEvaluationTrends(db, lane, { now: status.asOf });
    expect(trends.map((t) => [t.kind, t.runs])).toEqual([['smoke', 3]]);

    const { writeReport } = createReportActivities({ db, reportsDir: dir });
    const ref = await writeReport({ workflowId: status.workflowId, status, idempotencyKey: 'report-test-1' });
    expect(ref.path).toBe(path.join(dir, 'bakeoff-activity-1.json'));
    const html = fs.readFileSync(path.join(dir, 'bakeoff-activity-1.html'), 'utf8');
    expect(html).toContain('<h1>Bakeoff <code>bakeoff-activity-1</code></h1>');
    expect(html).toContain('Stage 1: p95 latency');
    expect(html).toContain('data-trend-kind="smoke"');
    expect(html).toMatch(/<tr data-trend-metric="hit_rate"><td>hit_rate<\/td><td class="num">3<\/td><td class="num">0.500<\/td><td class="num">0.550<\/td>/);
  });
});
