// Self-contained HTML reports: one per bakeoff (gates, baseline vs candidate, canary KPI timeline
// per stage, nprobe sweep, the lane's 7-day evaluation trend, the event log) and one per evaluation
// (metrics, per-case misses, sweep, trend). Plots are inline SVG; the page has no script and a CSP
// that blocks every fetch. Every string from the outside world is escaped where it is emitted.
import type { EvalReport } from '../activities/types';
import type { CaseResult, MetricComparison } from '../rag/evaluate';
import type { SweepResult } from '../rag/nprobe-sweep';
import type { EvaluationTrend, MetricTrend } from '../schedules/evaluation-trend';
import { formatDuration } from '../workflows/duration';
import { isTerminal, type BakeoffStatus, type Gate } from '../workflows/types';
import type { CanaryTimeline, KpiWindowPoint, StageTimeline } from './canary-timeline';
import { htmlPage } from './html-page';
import { escapeHtml as e, fmtDelta, fmtMs, fmtNumber, fmtPct, fmtTime } from './html-text';
import { lineChart, type ChartSeries } from './svg-charts';

export interface BakeoffReportData {
  status: BakeoffStatus;
  /** Live KPI windows per canary stage (loadCanaryTimeline); absent: the section says so. */
  canary?: CanaryTimeline | null;
  /** The candidate index's nprobe sweep (readSweepBeside(status.ingest.index.ivf)). */
  sweep?: SweepResult | null;
  /** The lane's 7-day scheduled-evaluation trends (loadEvaluationTrends). */
  trends?: readonly EvaluationTrend[];
  /** Epoch ms printed in the footer (default: now). */
  generatedAt?: number;
}

export interface EvaluationReportData {
  title: string;
  /** One run, or baseline and candidate on the same cases. */
  runs: readonly EvalReport[];
  comparison?: readonly MetricComparison[] | null;
  cases?: readonly CaseResult[] | null;
  sweep?: SweepResult | null;
  trends?: readonly EvaluationTrend[];
  meta?: Record<string, string>;
  generatedAt?: number;
}

const BASELINE_COLOR = '#1f77b4';
const CANDIDATE_COLOR = '#d62728';

// ---------------------------------------------------------------------------------------------
// Bakeoff report

/** Renders a bakeoff's report from its status (as the `status` query or a stored report returns it). */
export function renderBakeoffReport(input: BakeoffStatus | BakeoffReportData): string {
  const data: BakeoffReportData = 'status' in input && typeof (input as BakeoffReportData).status === 'object' ? (input as BakeoffReportData) : { status: input as BakeoffStatus };
  const s = data.status;
  const body = [
    `<h1>Bakeoff <code>${e(s.workflowId)}</code></h1>`,
    `<p class="muted">lane <strong>${e(s.lane)}</strong> · phase <span class="phase phase-${e(s.phase)}" data-phase="${e(s.phase)}">${e(s.phase)}</span> · outcome <strong data-outcome>${e(outcomeOf(s))}</strong>${s.dryRun ? ' · <strong>dry run</strong>' : ''}</p>`,
    summarySection(s),
    outcomeSection(s),
    gatesSection('Gates', s.gates, 'offline-gates', s.verdict),
    metricsSection(s),
    shadowSection(s),
    canarySection(s, data.canary),
    sweepSection(data.sweep),
    trendSection(data.trends),
    eventsSection(s),
  ].join('\n');
  return htmlPage(`Bakeoff ${s.workflowId} — ${s.phase}`, body, footer(data.generatedAt, s.asOf));
}

function outcomeOf(s: BakeoffStatus): string {
  if (s.phase === 'rolled-back') return 'rolled back';
  if (s.dryRun && s.phase === 'done') return s.verdict === 'pass' && s.shadow?.outcome !== 'failed' ? 'dry run passed' : 'dry run failed';
  if (s.dryRun && s.phase === 'failed') return 'dry run failed';
  if (s.phase === 'done') return 'promoted';
  if (s.phase === 'failed') return 'failed';
  return 'in progress';
}

function kv(rows: [string, string][]): string {
  return `<table class="kv">${rows.map(([k, v]) => `<tr><th>${e(k)}</th><td>${v}</td></tr>`).join('')}</table>`;
}

const code = (v: string | null | undefined): string => (v ? `<code>${e(v)}</code>` : '—');

function summarySection(s: BakeoffStatus): string {
  const secs = (ms: number) => formatDuration(Math.round(ms / 1000) * 1000);
  const stage = !s.stage
    ? '—'
    : isTerminal(s.phase)
      ? `ended in stage ${s.stage.index + 1}/${s.stagesTotal} (${s.stage.percent} %)`
      : `stage ${s.stage.index + 1}/${s.stagesTotal}: ${s.stage.percent} % · ${e(secs(s.stage.remainingMs))} of ${e(secs(s.stage.soakMs))} left${s.paused ? ' (paused)' : ''}`;
  return [
    '<h2 id="summary">Summary</h2>',
    kv([
      ['Requested by', e(s.requestedBy)],
      ['Config hash', code(s.configHash)],
      ['Ingest run', code(s.ingestRunId)],
      ['Corpus', s.corpus ? `${e(s.corpus.dataset)} · ${e(s.corpus.documents)} documents · snapshot sha256 ${code(s.corpus.snapshot)}` : '—'],
      ['Candidate table', code(s.shadowTable)],
      ['Baseline', s.baseline ? `${code(s.baseline.table)} · config ${code(s.baseline.configHash)} · pointer v${e(s.baseline.pointerVersion)}` : '—'],
      ['Offline verdict', verdictBadge(s.verdict)],
      ['Canary', stage],
      ['Backup', code(s.backupId)],
      ['Paused', s.paused ? `yes${s.pausedBy ? ` (by ${e(s.pausedBy)})` : ''}` : 'no'],
      ['Awaiting operator', s.awaiting ? `${e(s.awaiting.reason)} (deadline ${e(fmtTime(s.awaiting.deadline))})` : '—'],
      ['Approvals', s.approvals.length ? s.approvals.map((a) => `${e(a.by)} at ${e(fmtTime(a.at))}${a.reason ? `: ${e(a.reason)}` : ''}`).join('<br>') : '—'],
      ['Runs (continue-as-new)', e(s.runs)],
      ['Report id', code(s.reportId)],
    ]),
  ].join('\n');
}

function outcomeSection(s: BakeoffStatus): string {
  const out: string[] = [];
  if (s.rollback) {
    const r = s.rollback;
    out.push(
      `<div class="box bad" id="rollback"><strong>Rollback</strong> ${r.automatic ? '(automatic)' : '(operator)'} by <strong data-rollback-by>${e(r.by)}</strong>: <span data-rollback-reason>${e(r.reason)}</span>`,
      kv([
        ['Requested', e(fmtTime(r.requestedAt))],
        ['Pointer restored', r.pointerRestoredAt ? `${e(fmtTime(r.pointerRestoredAt))} (pointer v${e(r.pointerVersion ?? '?')}, cache epoch ${e(r.cacheEpoch ?? '?')})` : 'not needed (the pointer never moved) or not yet'],
        ['Smoke eval of baseline', r.smoke ? `${r.smoke.ok ? 'ok' : '<strong>NOT ok</strong>'}${r.smoke.hitRate !== undefined ? ` · hit rate ${e(fmtPct(r.smoke.hitRate))} on ${e(r.smoke.cases)} cases` : ''}${r.smoke.error ? ` · ${e(r.smoke.error)}` : ''}` : '—'],
        ['Completed', e(fmtTime(r.completedAt))],
      ]),
      '</div>',
    );
  }
  if (s.promotion) {
    const p = s.promotion;
    out.push(`<div class="box good" id="promotion"><strong>Promoted</strong> by ${e(p.by)} at ${e(fmtTime(p.at))}: ${code(p.liveTable)} is live (pointer v${e(p.pointerVersion)}); ${code(p.archivedTable)} archived.</div>`);
  }
  if (s.failure) out.push(`<div class="box bad" id="failure"><strong>Failure</strong>: ${e(s.failure)}</div>`);
  return out.join('\n');
}

export function verdictBadge(v: string | null | undefined): string {
  if (!v) return '<span class="muted">not judged</span>';
  return `<span class="verdict verdict-${e(v)}">${e(v)}</span>`;
}

/** Gate numbers have mixed units (rates, ms, counts): four significant digits, integers as they are. */
function gateNumber(v: number | null | undefined): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

function thresholdText(g: Gate): string {
  if (g.threshold === null) return '—';
  if (g.direction === 'higher-is-better') return `≥ ${gateNumber(g.threshold)}`;
  if (g.direction === 'lower-is-better') return `≤ ${gateNumber(g.threshold)}`;
  return `${gateNumber(g.threshold)} … ${gateNumber(g.upper)}`;
}

export function gatesTable(gates: readonly Gate[], id: string): string {
  if (gates.length === 0) return `<p class="muted" id="${e(id)}">no gates judged yet</p>`;
  const rows = gates.map(
    (g) =>
      `<tr class="verdict-row-${e(g.verdict)}" data-gate="${e(g.name)}"><td><code>${e(g.name)}</code></td><td>${e(g.source)}</td>` +
      `<td class="num">${e(gateNumber(g.value))}</td><td class="num">${e(gateNumber(g.baseline))}</td><td class="num">${e(thresholdText(g))}</td>` +
      `<td>${e(g.direction)}</td><td>${verdictBadge(g.verdict)}</td><td>${e(g.reason)}</td></tr>`,
  );
  return `<table id="${e(id)}"><thead><tr><th>Gate</th><th>Source</th><th>Value</th><th>Baseline</th><th>Threshold</th><th>Direction</th><th>Verdict</th><th>Why</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function gatesSection(title: string, gates: readonly Gate[], id: string, overall: string | null): string {
  const counts = (['pass', 'inconclusive', 'fail'] as const).map((v) => `${gates.filter((g) => g.verdict === v).length} ${v}`).join(', ');
  return `<h2 id="gates">${e(title)}</h2><p>Overall: ${verdictBadge(overall)} <span class="muted">(${e(counts)})</span></p>${gatesTable(gates, id)}`;
}

const RATE_METRICS: (keyof EvalReport['metrics'])[] = ['hit_rate', 'recall', 'mrr', 'ndcg', 'f1', 'precision'];
const LATENCY_STAGES: (keyof EvalReport['latencyMs'])[] = ['encode', 'search', 'rerank', 'total'];

/** Rows of metrics for any number of runs (columns), with Δ of the last run against the first. */
function metricsTable(runs: readonly EvalReport[], headers: readonly string[], id: string): string {
  const delta = runs.length === 2;
  const head = `<tr><th>Metric</th>${headers.map((h) => `<th>${h}</th>`).join('')}${delta ? '<th>Δ</th>' : ''}</tr>`;
  const rows: string[] = [];
  for (const m of RATE_METRICS) {
    const vals = runs.map((r) => r.metrics?.[m]);
    rows.push(`<tr data-metric="${e(m)}"><td>${e(m)}</td>${vals.map((v) => `<td class="num">${e(fmtNumber(v, 3))}</td>`).join('')}${delta ? `<td class="num">${e(fmtDelta(vals[1], vals[0], 'rate'))}</td>` : ''}</tr>`);
  }
  for (const st of LATENCY_STAGES) {
    for (const p of ['p50', 'p95'] as const) {
      const vals = runs.map((r) => r.latencyMs?.[st]?.[p]);
      rows.push(`<tr data-metric="${e(`${st}_${p}_ms`)}"><td>${e(`${st} ${p}`)}</td>${vals.map((v) => `<td class="num">${e(fmtMs(v))}</td>`).join('')}${delta ? `<td class="num">${e(fmtDelta(vals[1], vals[0], 'latency'))}</td>` : ''}</tr>`);
    }
  }
  rows.push(`<tr><td>cases · k</td>${runs.map((r) => `<td class="num">${e(r.cases)} · ${e(r.k)}</td>`).join('')}${delta ? '<td></td>' : ''}</tr>`);
  rows.push(`<tr><td>table</td>${runs.map((r) => `<td>${code(r.table)}</td>`).join('')}${delta ? '<td></td>' : ''}</tr>`);
  rows.push(`<tr><td>manifest</td>${runs.map((r) => `<td>${code(r.manifest)}</td>`).join('')}${delta ? '<td></td>' : ''}</tr>`);
  return `<table id="${e(id)}"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table>`;
}

function metricsSection(s: BakeoffStatus): string {
  const ev = s.evaluation;
  const ingest = s.ingest
    ? `<p class="muted">Candidate ingest: ${e(s.ingest.documents)} documents → ${e(s.ingest.chunks)} chunks, ${e(s.ingest.duplicatesRemoved)} near-duplicates removed (${e(fmtPct(s.ingest.dedupRate))}), ${e(formatDuration(s.ingest.durationMs))}.</p>`
    : '';
  if (!ev) return `<h2 id="metrics">Baseline vs candidate</h2>${ingest}<p class="muted">not evaluated yet</p>`;
  return `<h2 id="metrics">Baseline vs candidate</h2>${ingest}${metricsTable([ev.baseline, ev.candidate], ['Baseline', 'Candidate'], 'metrics-table')}`;
}

// ---- canary ---------------------------------------------------------------------------------

function stageAxis(st: StageTimeline): { unit: number; label: string; suffix: string } {
  const span = st.endedAt - st.startedAt;
  if (span > 3 * 3_600_000) return { unit: 3_600_000, label: 'hours since stage start', suffix: 'h' };
  if (span > 3 * 60_000) return { unit: 60_000, label: 'minutes since stage start', suffix: 'm' };
  return { unit: 1_000, label: 'seconds since stage start', suffix: 's' };
}

function kpiSeries(st: StageTimeline, f: (p: KpiWindowPoint) => number | null, unit: number): ChartSeries[] {
  return (['baseline', 'candidate'] as const).map((side) => ({
    name: side,
    color: side === 'baseline' ? BASELINE_COLOR : CANDIDATE_COLOR,
    points: st.windows.filter((w) => w.side === side).map((w) => ({ x: (w.windowEnd - st.startedAt) / unit, y: f(w) })),
  }));
}

const SHADOW_OUTCOME: Record<string, string> = {
  passed: 'passed',
  approved: 'not proven; approved by an operator',
  failed: 'failed',
  judged: 'not proven (dry run: reported only)',
  unproven: 'not proven; went on to the canary (onInconclusive: canary)',
};

/**
 * The shadow stage (issue 14): mirrored requests answered by the candidate and never served, with
 * the label-free comparisons of the two answers to each request, and its gates (the live gates over
 * mirrored traffic — latency difference, error rate, quality-τ share — plus overlap@10).
 */
function shadowSection(s: BakeoffStatus): string {
  const sh = s.shadow;
  if (!sh) return '<h2 id="shadow">Shadow stage</h2><p class="muted" id="shadow-none">no shadow stage (the input had none)</p>';
  const m = sh.mirror;
  const l = sh.live;
  const state = sh.outcome ? SHADOW_OUTCOME[sh.outcome] ?? sh.outcome : sh.startedAt === null ? 'setting the mirror' : `running, ${formatDuration(Math.round(sh.remainingMs / 1000) * 1000)} left`;
  return [
    '<h2 id="shadow">Shadow stage</h2>',
    kv([
      ['Outcome', `<strong data-shadow-outcome="${e(sh.outcome ?? 'running')}">${e(state)}</strong>`],
      ['Mirrored', `${e(sh.percent)} % of requests for ${e(formatDuration(sh.soakMs))}; never served`],
      ['Mirror', `set ${e(fmtTime(sh.mirrorSetAt))} · cleared ${e(fmtTime(sh.mirrorClearedAt))}`],
      ['Compared requests', `<span data-shadow-compared>${e(m.n)}</span>`],
      ['Dropped mirror jobs', `${e(m.dropped)} (${e(fmtPct(m.droppedShare))} of mirror jobs; over the serving path's bound, never queued)`],
      ['Mean overlap@10', e(fmtNumber(m.meanOverlapAt10))],
      ['Mean RBO (p = 0.9)', e(fmtNumber(m.meanRbo))],
      ['Top-1 changed', e(fmtPct(m.top1ChangeRate))],
      ['Checks', `${e(l.checks)} (${e(l.passes)} pass, ${e(l.inconclusive)} inconclusive, ${e(l.fails)} fail); last ${verdictBadge(l.lastVerdict)} at ${e(fmtTime(l.lastAt))}`],
    ]),
    l.lastGates.length > 0 ? `<h3>Last shadow check</h3>${gatesTable(l.lastGates, 'shadow-gates')}` : '<p class="muted">no shadow check yet</p>',
  ].join('\n');
}

function canarySection(s: BakeoffStatus, canary: CanaryTimeline | null | undefined): string {
  const live = s.live;
  const out = ['<h2 id="canary">Canary</h2>'];
  out.push(
    `<p id="live-checks">Live checks: ${e(live.checks)} (${e(live.passes)} pass, ${e(live.inconclusive)} inconclusive, ${e(live.fails)} fail); last ${verdictBadge(live.lastVerdict)} at ${e(fmtTime(live.lastAt))}.</p>`,
  );
  if (live.lastGates.length > 0) out.push('<h3>Last live check</h3>', gatesTable(live.lastGates, 'live-gates'));
  if (!canary || canary.stages.length === 0) {
    out.push('<p class="muted" id="canary-timeline">no canary stage ran</p>');
    return out.join('\n');
  }
  out.push(
    '<table id="canary-stages"><thead><tr><th>Stage</th><th>Traffic</th><th>Started</th><th>Ended</th><th>Duration</th><th>KPI windows (baseline / candidate)</th><th>Requests (baseline / candidate)</th></tr></thead><tbody>' +
      canary.stages
        .map((st) => {
          const b = st.windows.filter((w) => w.side === 'baseline');
          const c = st.windows.filter((w) => w.side === 'candidate');
          const sum = (ws: KpiWindowPoint[]) => ws.reduce((n, w) => n + w.samples, 0);
          return `<tr data-stage="${st.index + 1}"><td>${st.index + 1}</td><td class="num">${e(st.percent)} %</td><td>${e(fmtTime(st.startedAt))}</td><td>${st.open ? '<em>running</em>' : e(fmtTime(st.endedAt))}</td><td>${e(formatDuration(Math.round((st.endedAt - st.startedAt) / 1000) * 1000))}</td><td class="num">${b.length} / ${c.length}</td><td class="num">${sum(b)} / ${sum(c)}</td></tr>`;
        })
        .join('') +
      '</tbody></table>',
  );
  out.push('<div id="canary-timeline">');
  for (const st of canary.stages) {
    const { unit, label, suffix } = stageAxis(st);
    const x = (v: number) => `${Number(v.toPrecision(3))}${suffix}`;
    out.push(`<h3>Stage ${st.index + 1}: ${e(st.percent)} % of traffic</h3>`);
    if (st.windows.length === 0) {
      out.push('<p class="muted">no live KPI windows recorded in this stage</p>');
      continue;
    }
    out.push(
      '<div class="charts">',
      lineChart(kpiSeries(st, (w) => w.p95Ms, unit), { title: `Stage ${st.index + 1}: p95 latency`, width: 372, xLabel: label, yLabel: 'p95 (ms)', xFormat: x, yInclude: [0] }),
      lineChart(kpiSeries(st, (w) => (w.errorRate === null ? null : w.errorRate * 100), unit), { title: `Stage ${st.index + 1}: error rate`, width: 372, xLabel: label, yLabel: 'errors (%)', xFormat: x, yInclude: [0] }),
      lineChart(kpiSeries(st, (w) => w.qualityProxy, unit), { title: `Stage ${st.index + 1}: quality proxy`, width: 372, xLabel: label, yLabel: 'share above τ', xFormat: x, yInclude: [0, 1] }),
      '</div>',
    );
  }
  out.push('</div>');
  return out.join('\n');
}

// ---- sweep ----------------------------------------------------------------------------------

function sweepSection(sweep: SweepResult | null | undefined): string {
  if (!sweep || sweep.points.length === 0) return '<h2 id="sweep">nprobe sweep</h2><p class="muted" id="sweep-curve">no sweep recorded for this index</p>';
  const k = sweep.k;
  const overlap: ChartSeries = { name: `overlap@${k}`, color: '#2ca02c', points: sweep.points.map((p) => ({ x: p.nprobe, y: p.overlapAtK })) };
  const p95: ChartSeries = { name: 'IVF p95', color: '#9467bd', points: sweep.points.map((p) => ({ x: p.nprobe, y: p.p95Ms })) };
  const rows = sweep.points
    .map(
      (p) =>
        `<tr${sweep.chosen?.nprobe === p.nprobe ? ' class="chosen"' : ''}><td class="num">${e(p.nprobe)}${sweep.chosen?.nprobe === p.nprobe ? ' ✓' : ''}</td><td class="num">${e(fmtNumber(p.overlapAtK, 3))}</td>` +
        `<td class="num">${e(fmtMs(p.p50Ms))}</td><td class="num">${e(fmtMs(p.p95Ms))}</td><td class="num">${e(fmtNumber(p.speedupP95, 1))}×</td><td>${p.meetsTargets ? 'yes' : 'no'}</td></tr>`,
    )
    .join('');
  return [
    '<h2 id="sweep">nprobe sweep</h2>',
    `<p>${e(sweep.ntotal)} vectors × ${e(sweep.dim)} dims, nlist ${e(sweep.nlist)}, ${e(sweep.queries)} queries. ${e(sweep.reason)}. Flat p95 ${e(fmtMs(sweep.flat.p95Ms))}.</p>`,
    '<div class="charts" id="sweep-curve">',
    lineChart([overlap], {
      title: `overlap@${k} vs nprobe`,
      xLabel: 'nprobe',
      yLabel: `overlap@${k} with flat`,
      xScale: 'log2',
      yInclude: [1],
      references: [{ y: sweep.targets.minOverlap, label: `target ${sweep.targets.minOverlap}`, color: '#a40e26' }],
    }),
    lineChart([p95], {
      title: 'p95 latency vs nprobe',
      xLabel: 'nprobe',
      yLabel: 'p95 per query (ms)',
      xScale: 'log2',
      yInclude: [0],
      references: [{ y: sweep.flat.p95Ms, label: `flat p95 ${fmtMs(sweep.flat.p95Ms)}`, color: '#555' }],
    }),
    '</div>',
    `<table id="sweep-table"><thead><tr><th>nprobe</th><th>overlap@${e(k)}</th><th>p50</th><th>p95</th><th>speed-up p95</th><th>meets targets</th></tr></thead><tbody>${rows}</tbody></table>`,
  ].join('\n');
}

// ---- trend ----------------------------------------------------------------------------------

function trendNumber(m: MetricTrend, v: number | null): string {
  return m.metric === 'p95_total_ms' ? fmtMs(v) : fmtNumber(v, 3);
}

function trendSection(trends: readonly EvaluationTrend[] | undefined): string {
  if (!trends || trends.length === 0) return '<h2 id="trend">7-day evaluation trend</h2><p class="muted" id="trend-none">no scheduled evaluations of this lane in the last 7 days</p>';
  const out = ['<h2 id="trend">7-day evaluation trend</h2>'];
  for (const t of trends) {
    const day = (x: number) => `${Number(x.toFixed(1))}d`;
    const series: ChartSeries[] = (['hit_rate', 'mrr', 'f1'] as const).map((metric) => ({
      name: metric,
      points: t.points.map((p) => ({ x: (p.at - t.from) / 86_400_000, y: p.values[metric] })),
    }));
    const arrow = (m: MetricTrend) => (m.direction === 'up' ? '↑' : m.direction === 'down' ? '↓' : m.direction === 'flat' ? '→' : '·');
    const rows = t.metrics
      .map(
        (m) =>
          `<tr data-trend-metric="${e(m.metric)}"><td>${e(m.metric)}</td><td class="num">${m.n}</td><td class="num">${e(trendNumber(m, m.first))}</td><td class="num">${e(trendNumber(m, m.last))}</td>` +
          `<td class="num">${e(trendNumber(m, m.mean))}</td><td class="num">${e(m.slopePerDay === null ? '—' : `${m.slopePerDay >= 0 ? '+' : ''}${m.metric === 'p95_total_ms' ? m.slopePerDay.toFixed(2) : m.slopePerDay.toFixed(4)}`)}</td>` +
          `<td>${arrow(m)} ${e(m.direction)}${m.improving === null ? '' : m.improving ? ' (better)' : ' (<strong>worse</strong>)'}</td></tr>`,
      )
      .join('');
    out.push(
      `<h3 data-trend-kind="${e(t.kind)}">${e(t.kind)} evaluations: ${t.runs} run${t.runs === 1 ? '' : 's'} from ${e(fmtTime(t.from))} to ${e(fmtTime(t.to))}</h3>`,
      '<div class="charts">',
      lineChart(series, { title: `${t.kind}: quality over ${t.days} days`, xLabel: `days since ${fmtTime(t.from)}`, yLabel: 'score', xFormat: day, yInclude: [0, 1] }),
      lineChart([{ name: 'p95 total', color: '#9467bd', points: t.points.map((p) => ({ x: (p.at - t.from) / 86_400_000, y: p.values.p95_total_ms })) }], {
        title: `${t.kind}: p95 latency over ${t.days} days`,
        xLabel: `days since ${fmtTime(t.from)}`,
        yLabel: 'p95 (ms)',
        xFormat: day,
        yInclude: [0],
      }),
      '</div>',
      `<table class="trend-table"><thead><tr><th>Metric</th><th>Runs</th><th>First</th><th>Last</th><th>Mean</th><th>Slope / day</th><th>Direction</th></tr></thead><tbody>${rows}</tbody></table>`,
    );
  }
  return out.join('\n');
}

// ---- events -----------------------------------------------------------------------------------

function eventsSection(s: BakeoffStatus): string {
  if (s.events.length === 0) return '';
  const rows = s.events
    .map((ev) => `<tr><td>${e(fmtTime(ev.at))}</td><td>${e(ev.kind)}</td><td>${e(ev.by ?? '')}</td><td>${e(ev.message)}</td></tr>`)
    .join('');
  return `<h2 id="events">Events (latest ${s.events.length})</h2><table id="events-table"><thead><tr><th>Time</th><th>Kind</th><th>By</th><th>Message</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function footer(generatedAt: number | undefined, asOf: number | undefined): string {
  return `Generated by bakeoff at ${e(fmtTime(generatedAt ?? Date.now()))}${asOf ? ` from the status as of ${e(fmtTime(asOf))}` : ''}. Self-contained: no scripts, fonts or network requests.`;
}

// ---------------------------------------------------------------------------------------------
// Evaluation report

export function renderEvaluationReport(data: EvaluationReportData): string {
  const headers = data.runs.map((r) => `${e(r.side)}<br><code>${e(r.table)}</code>`);
  const body = [
    `<h1>${e(data.title)}</h1>`,
    data.meta ? kv(Object.entries(data.meta).map(([k, v]) => [k, e(v)])) : '',
    '<h2 id="metrics">Metrics</h2>',
    data.runs.length > 0 ? metricsTable(data.runs, headers, 'metrics-table') : '<p class="muted">no runs</p>',
    comparisonSection(data.comparison),
    casesSection(data.cases),
    sweepSection(data.sweep),
    trendSection(data.trends),
  ].join('\n');
  return htmlPage(data.title, body, footer(data.generatedAt, undefined));
}

function comparisonSection(cmp: readonly MetricComparison[] | null | undefined): string {
  if (!cmp || cmp.length === 0) return '';
  const rows = cmp
    .map(
      (c) =>
        `<tr><td>${e(c.metric)}</td><td class="num">${e(fmtNumber(c.baseline))}</td><td class="num">${e(fmtNumber(c.candidate))}</td><td class="num">${e(fmtDelta(c.candidate, c.baseline, 'rate'))}</td>` +
        `<td class="num">[${e(fmtNumber(c.bootstrap.ci95[0]))}, ${e(fmtNumber(c.bootstrap.ci95[1]))}]</td><td class="num">${e(fmtNumber(c.bootstrap.pValue, 4))}</td>` +
        `<td class="num">${e(c.sign.wins)} / ${e(c.sign.losses)} / ${e(c.sign.ties)}</td><td class="num">${e(fmtNumber(c.sign.pValue, 4))}</td></tr>`,
    )
    .join('');
  return `<h2 id="significance">Paired significance</h2><table id="comparison-table"><thead><tr><th>Metric</th><th>Baseline</th><th>Candidate</th><th>Δ</th><th>Bootstrap 95 % CI of Δ</th><th>Bootstrap p</th><th>Sign test W / L / T</th><th>Sign p</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function casesSection(cases: readonly CaseResult[] | null | undefined): string {
  if (!cases || cases.length === 0) return '';
  const misses = cases.filter((c) => c.hit === 0);
  const shown = misses.slice(0, 25);
  const rows = shown
    .map(
      (c) =>
        `<tr><td><code>${e(c.case_id)}</code></td><td>${e(c.question)}</td><td><code>${e(c.gold_doc_id)}</code></td><td class="num">${e(c.gold_doc_rank ?? '—')}</td><td class="num">${e(fmtNumber(c.f1, 2))}</td></tr>`,
    )
    .join('');
  return [
    '<h2 id="cases">Per-case results</h2>',
    `<p>${cases.length} cases, ${cases.length - misses.length} hits, ${misses.length} misses${misses.length > shown.length ? ` (first ${shown.length} shown)` : ''}.</p>`,
    misses.length ? `<table id="misses-table"><thead><tr><th>Case</th><th>Question</th><th>Gold document</th><th>Gold rank</th><th>Reader F1</th></tr></thead><tbody>${rows}</tbody></table>` : '',
  ].join('\n');
}
