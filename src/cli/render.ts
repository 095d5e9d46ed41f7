// Plain-text rendering for the terminal: aligned tables and the `bakeoff status` view. Pure functions
// of their input (and `now`), so the layout is tested without a server. No colours: the output is
// read in CI logs and pasted into incident channels as often as it is read on a terminal.
import { formatDuration } from '../workflows/duration';
import { isTerminal, type BakeoffStatus, type Gate } from '../workflows/types';
import type { StatusAnswer } from './status-source';

export function renderTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function formatTime(ms: number | string | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return '—';
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function formatNumber(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  if (abs !== 0 && abs < 0.001) return v.toExponential(2);
  return abs < 10 ? v.toFixed(3) : v.toFixed(1);
}

export function formatThreshold(g: Pick<Gate, 'threshold' | 'upper' | 'direction'>): string {
  if (g.threshold === null) return '—';
  switch (g.direction) {
    case 'higher-is-better':
      return `≥ ${formatNumber(g.threshold)}`;
    case 'lower-is-better':
      return `≤ ${formatNumber(g.threshold)}`;
    case 'within-band':
      return `${formatNumber(g.threshold)} … ${formatNumber(g.upper)}`;
  }
}

export function renderGates(gates: Gate[]): string {
  if (gates.length === 0) return '(none judged yet)';
  return renderTable(
    ['GATE', 'SOURCE', 'VALUE', 'BASELINE', 'THRESHOLD', 'VERDICT', 'WHY'],
    gates.map((g) => [g.name, g.source, formatNumber(g.value), formatNumber(g.baseline), formatThreshold(g), g.applicable === false ? 'N/A' : g.verdict.toUpperCase(), g.reason]),
  );
}

/** Soak time left now: from endsAt while the clock runs, the frozen remainder while it stands still. */
export function soakLeft(status: BakeoffStatus, now: number): { ms: number; running: boolean } | null {
  const st = status.stage;
  if (!st) return null;
  if (st.endsAt !== null) return { ms: Math.max(0, st.endsAt - now), running: true };
  return { ms: st.remainingMs, running: false };
}

/** Milliseconds shown: when a signal was recorded vs applied, seconds are too coarse. */
export function formatTimeMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? '—' : `${d.toISOString().slice(0, 23).replace('T', ' ')} UTC`;
}

/** After a rollback or promotion the stage is history: where the ramp got to, no clock. */
function endedStageLine(s: BakeoffStatus): string | null {
  const st = s.stage;
  const ended = s.rollback
    ? s.rollback.completedAt || isTerminal(s.phase) ? 'rolled back' : 'rolling back'
    : s.promotion ? 'promoted' : s.phase === 'promoting' ? 'promoting' : isTerminal(s.phase) ? s.phase : null;
  if (!ended) return null;
  if (!st) return `— (${ended})`;
  const now = ended === 'promoted' ? 'the candidate is live' : ended === 'promoting' ? 'the candidate is going live' : 'no traffic to the candidate now';
  return `reached ${st.index + 1} of ${s.stagesTotal} (${st.percent} % of traffic to the candidate), soak clock stopped · ${ended}: ${now}`;
}

function stageLine(s: BakeoffStatus, now: number): string {
  const st = s.stage;
  const ended = endedStageLine(s);
  if (ended) return ended;
  if (!st) return s.phase === 'canary' ? 'between stages' : '—';
  const left = soakLeft(s, now)!;
  // Whole seconds: milliseconds of a countdown are noise on a terminal.
  left.ms = Math.floor(left.ms / 1000) * 1000;
  const clock = left.running
    ? `${formatDuration(left.ms)} left (ends ${formatTime(st.endsAt)})`
    : `${formatDuration(left.ms)} left, clock stopped (${s.paused ? 'paused' : 'awaiting an operator'})`;
  return `${st.index + 1} of ${s.stagesTotal} · ${st.percent} % of traffic to the candidate · soak ${formatDuration(st.soakMs)} · ${clock}`;
}

/** What the shadow stage's outcome means, in a few words. */
const SHADOW_OUTCOME: Record<NonNullable<NonNullable<BakeoffStatus['shadow']>['outcome']>, string> = {
  passed: 'PASSED',
  approved: 'not proven, approved by an operator',
  failed: 'FAILED',
  judged: 'not proven (dry run: reported only)',
  unproven: 'not proven, went on to the canary',
};

/**
 * The shadow stage in a few lines: progress, the mirrored/compared/dropped counts and the label-free
 * comparisons of the two answers to the same request (overlap@10, RBO, top-1 churn), then the shadow
 * checks' summary. Latency difference and quality-τ share are the live gates' rows (renderGates).
 */
export function renderShadow(sh: NonNullable<BakeoffStatus['shadow']>): string[] {
  const out: string[] = [];
  const state = sh.outcome
    ? SHADOW_OUTCOME[sh.outcome]
    : sh.startedAt === null
      ? 'setting the mirror'
      : `running, ${formatDuration(Math.floor(sh.remainingMs / 1000) * 1000)} left`;
  out.push(`${sh.percent} % of requests mirrored to the candidate (never served) · soak ${formatDuration(sh.soakMs)} · ${state}`);
  const m = sh.mirror;
  const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)} %`);
  out.push(
    `compared ${m.n} · dropped ${m.dropped} (${pct(m.droppedShare)} of mirror jobs) · overlap@10 ${formatNumber(m.meanOverlapAt10)} · RBO ${formatNumber(m.meanRbo)} · top-1 changed ${pct(m.top1ChangeRate)}`,
  );
  const l = sh.live;
  if (l.checks > 0) out.push(`${l.checks} checks: ${l.passes} pass, ${l.inconclusive} inconclusive, ${l.fails} fail · last ${l.lastVerdict?.toUpperCase()} at ${formatTime(l.lastAt)}`);
  const cleared = sh.mirrorClearedAt !== null ? `cleared ${formatTime(sh.mirrorClearedAt)}` : sh.mirrorSetAt !== null ? 'still set' : 'not set';
  out.push(`mirror set ${formatTime(sh.mirrorSetAt)}, ${cleared}`);
  return out;
}

export interface RenderOptions {
  now: number;
  workflowUrl?: string | null;
  /** Events shown at the end (newest last). */
  events?: number;
}

export function renderStatus(a: StatusAnswer, o: RenderOptions): string {
  const e = a.execution;
  const out: string[] = [];
  const field = (name: string, value: string) => out.push(`${name.padEnd(9)} ${value}`);
  // After continue-as-new the server's execution is the latest run: the bakeoff started with its first.
  const laterRun = e.firstRunId && e.firstRunId !== e.runId;
  const started = !laterRun
    ? `started ${formatTime(e.startTime)}`
    : `${a.status ? `run ${a.status.runs}, ` : ''}this run since ${formatTime(e.startTime)}; bakeoff started ${e.bakeoffStartTime ? formatTime(e.bakeoffStartTime) : '(first run no longer retained)'}`;
  field('Bakeoff', `${e.workflowId} (${e.executionStatus.toLowerCase()}, run ${e.runId.slice(0, 8)}…, ${started})`);
  const s = a.status;
  if (!s) {
    field('Phase', `${e.phase ?? 'unknown'} (from the BakeoffPhase search attribute)`);
    if (e.configHash) field('Config', e.configHash);
    for (const p of e.pendingActivities) field('Pending', `${p.type} attempt ${p.attempt}${p.lastFailure ? ` — last failure: ${p.lastFailure}` : ''}`);
    if (o.workflowUrl) field('Web UI', o.workflowUrl);
    if (a.note) out.push('', `NOTE: ${a.note}`);
    return out.join('\n');
  }
  const flags = [s.dryRun ? 'DRY RUN' : null, s.paused ? `PAUSED${s.pausedBy ? ` by ${s.pausedBy}` : ''}` : null].filter(Boolean);
  field('Phase', `${s.phase}${flags.length ? `  [${flags.join(', ')}]` : ''}`);
  field('Stage', stageLine(s, o.now));
  field('Verdict', s.verdict ? `${s.verdict.toUpperCase()} (offline gates)` : 'not judged yet');
  field('Requested', `by ${s.requestedBy} · lane ${s.lane}`);
  if (s.configHash) field('Config', `${s.configHash.slice(0, 16)}… · ingest ${s.ingestRunId ?? '—'} · table ${s.shadowTable ?? '—'}`);
  if (s.corpus) field('Corpus', `${s.corpus.dataset} · ${s.corpus.documents} documents · snapshot sha256 ${s.corpus.snapshot}`);
  if (s.baseline) field('Baseline', `${s.baseline.table} (config ${s.baseline.configHash?.slice(0, 16) ?? '?'}…, pointer v${s.baseline.pointerVersion})`);
  if (s.backupId) field('Backup', `${s.backupId} (restore: bakeoff backup restore ${s.backupId} --confirm)`);
  const l = s.live;
  if (s.shadow) renderShadow(s.shadow).forEach((line, i) => field(i === 0 ? 'Shadow' : '', line));
  if (l.checks > 0) field('Live', `${l.checks} checks: ${l.passes} pass, ${l.inconclusive} inconclusive, ${l.fails} fail · last ${l.lastVerdict?.toUpperCase()} at ${formatTime(l.lastAt)}`);
  if (s.awaiting) {
    field('Awaiting', `${s.awaiting.reason}`);
    field('', `decide by ${formatTime(s.awaiting.deadline)}: bakeoff approve ${s.workflowId}  |  bakeoff abort ${s.workflowId} --reason "…"`);
  }
  if (s.rollback) {
    const r = s.rollback;
    // The workflow's requestedAt is when it applied the signal; the server recorded it earlier when no worker ran.
    const when =
      !r.automatic && a.rollbackSignaledAt
        ? `: signal sent ${formatTimeMs(a.rollbackSignaledAt)}, applied ${formatTimeMs(r.requestedAt)} (${((r.requestedAt - a.rollbackSignaledAt) / 1000).toFixed(1)} s later)`
        : ` at ${formatTime(r.requestedAt)}`;
    const parts = [`${r.automatic ? 'automatic' : 'requested'} by ${r.by}${when}: ${r.reason}`];
    if (r.pointerRestoredAt) parts.push(`pointer back on the baseline (v${r.pointerVersion}) at ${formatTime(r.pointerRestoredAt)}`);
    if (r.smoke) parts.push(`smoke eval ${r.smoke.ok ? 'ok' : 'NOT OK'}${r.smoke.hitRate !== undefined ? ` (hit rate ${formatNumber(r.smoke.hitRate)} on ${r.smoke.cases} cases)` : r.smoke.error ? ` (${r.smoke.error})` : ''}`);
    parts.push(r.completedAt ? `completed ${formatTime(r.completedAt)}` : 'in progress');
    field('Rollback', parts.join(' · '));
  }
  if (s.promotion) field('Promoted', `by ${s.promotion.by} at ${formatTime(s.promotion.at)}: ${s.promotion.liveTable} live (pointer v${s.promotion.pointerVersion}), ${s.promotion.archivedTable} archived`);
  if (s.failure) field('Failure', s.failure);
  if (s.reportId) field('Report', s.reportId);
  if (o.workflowUrl) field('Web UI', o.workflowUrl);
  out.push('', 'Gates', renderGates(s.gates));
  if (s.shadow && s.shadow.live.lastGates.length > 0) out.push('', `Shadow gates (mirrored requests, last check ${formatTime(s.shadow.live.lastAt)})`, renderGates(s.shadow.live.lastGates));
  if (l.lastGates.length > 0) out.push('', `Live gates (last check${l.lastStage !== undefined ? ` of stage ${l.lastStage + 1}` : ''}, ${formatTime(l.lastAt)})`, renderGates(l.lastGates));
  const n = o.events ?? 8;
  if (n > 0 && s.events.length > 0) {
    out.push('', 'Recent events');
    for (const ev of s.events.slice(-n)) out.push(`  ${formatTime(ev.at)}  ${ev.kind.padEnd(10)} ${ev.message}`);
  }
  if (a.note) out.push('', `NOTE: ${a.note}`);
  return out.join('\n');
}
