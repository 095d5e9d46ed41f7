// Candidate and baseline evaluated together, case by case, in one process: case i of one side, then
// case i of the other, the side that goes first alternating. Two evaluations run as two activities can
// land on different data workers, or on one worker at different load, and their latencies then
// compare machines, not configs; timed back to back, each pair of cases shares the machine and its
// load, and alternating the order cancels a warm-cache advantage of going second. Metrics are those of
// two separate evaluations of the same cases (each case is scored exactly as evaluateSide /
// evaluateJudged score it); the candidate's report carries both sides' per-case latencies.
import { createHash } from 'node:crypto';
import type { EvalReport, PairedLatency } from '../workflows/report-types';
import { evaluateCase, finishSide, startSide, type EvaluateSideOptions } from './evaluate';
import { finishJudged, judgeCase, startJudged, type EvaluateJudgedOptions } from './evaluate-judged';

/** One side of a paired evaluation, stepped a case at a time. */
export interface PairedSide {
  readonly cases: number;
  /** Scores case i; returns its id and end-to-end retrieval latency. */
  runCase(i: number): Promise<{ caseId: string; totalMs: number }>;
  finish(): Promise<EvalReport>;
}

export interface PairedReports {
  candidate: EvalReport;
  baseline: EvalReport;
}

/** A side on the FAQ's extractive cases (evaluate.ts). */
export function faqSide(o: EvaluateSideOptions): PairedSide {
  const run = startSide(o);
  return {
    cases: o.cases.length,
    async runCase(i) {
      const r = await evaluateCase(o, run, o.cases[i]);
      return { caseId: r.case_id, totalMs: r.latency_ms.totalMs };
    },
    finish: async () => (await finishSide(o, run)).report,
  };
}

/** A side on a registered dataset's judged cases (evaluate-judged.ts). */
export function judgedSide(o: EvaluateJudgedOptions): PairedSide {
  const run = startJudged(o);
  return {
    cases: o.cases.length,
    async runCase(i) {
      const t = await judgeCase(o, run, o.cases[i]);
      return { caseId: o.cases[i].case_id, totalMs: t.totalMs };
    },
    finish: () => finishJudged(o, run),
  };
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

export async function evaluatePaired(
  candidate: PairedSide,
  baseline: PairedSide,
  onCase?: (done: number, total: number) => void | Promise<void>,
): Promise<PairedReports> {
  const n = candidate.cases;
  if (baseline.cases !== n) throw new Error(`a paired evaluation needs the same cases on both sides: ${n} candidate vs ${baseline.cases} baseline`);
  const timed = new Map<string, { candidate: number; baseline: number }>();
  let candidateFirst = 0;
  for (let i = 0; i < n; i++) {
    const order = i % 2 === 0 ? (['candidate', 'baseline'] as const) : (['baseline', 'candidate'] as const);
    if (order[0] === 'candidate') candidateFirst++;
    const t = { candidate: NaN, baseline: NaN };
    let id: string | null = null;
    for (const which of order) {
      const r = await (which === 'candidate' ? candidate : baseline).runCase(i);
      if (id !== null && r.caseId !== id) throw new Error(`paired evaluation: case ${i} is ${id} on one side and ${r.caseId} on the other`);
      id = r.caseId;
      t[which] = r.totalMs;
    }
    if (timed.has(id!)) throw new Error(`paired evaluation: case id ${id} appears twice`);
    timed.set(id!, t);
    await onCase?.(i + 1, n);
  }
  const ids = [...timed.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const pairedLatency: PairedLatency = {
    // The same digest as the reports' perCase.caseIdsSha256 (sorted ids, '\n'-joined).
    caseIdsSha256: createHash('sha256').update(ids.join('\n')).digest('hex'),
    candidateTotalMs: ids.map((id) => round2(timed.get(id)!.candidate)),
    baselineTotalMs: ids.map((id) => round2(timed.get(id)!.baseline)),
    candidateFirst,
  };
  const c = await candidate.finish();
  const b = await baseline.finish();
  return { candidate: { ...c, pairedLatency }, baseline: b };
}
