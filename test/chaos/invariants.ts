// What must hold after any fault. Each check returns a list of named results (so a report can say
// how many ran and passed) and the counts docs/reliability.md tabulates: rows lost, rows duplicated,
// side effects applied twice.
import { restoreBackup } from '../../src/store/backups';
import { pointerHistory, readPointer } from '../../src/store/pointer';
import type { PointerState } from '../../src/activities/types';
import { quoteIdent, type Db } from '../../src/platform/db';
import type { BakeoffStatus } from '../../src/workflows/types';
import { compareChunks, fingerprintTable, type ChunkFingerprint } from './world';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface Findings {
  checks: Check[];
  lost: number;
  duplicated: number;
  appliedTwice: number;
}

export function findings(): Findings {
  return { checks: [], lost: 0, duplicated: 0, appliedTwice: 0 };
}

function check(f: Findings, name: string, ok: boolean, detail: string): void {
  f.checks.push({ name, ok, detail });
}

export function failedChecks(f: Findings): Check[] {
  return f.checks.filter((c) => !c.ok);
}

/** The candidate table holds exactly the clean run's rows: same ids, same contents, no extras. */
export async function checkChunks(f: Findings, db: Db, table: string, clean: ChunkFingerprint): Promise<void> {
  const actual = await fingerprintTable(db, table);
  const d = compareChunks(clean, actual);
  f.lost += d.lost + d.changed;
  f.duplicated += d.duplicated;
  check(f, `chunks of ${table} equal the clean run`, d.lost === 0 && d.duplicated === 0 && d.changed === 0,
    `${actual.rows} rows vs ${clean.rows} clean; lost ${d.lost}, duplicated ${d.duplicated}, changed ${d.changed}`);
}

/** The pointer row is the newest history row, and versions are contiguous (every change recorded once). */
export async function checkPointerMatchesHistory(f: Findings, db: Db, lane: string): Promise<void> {
  const p = (await readPointer(db, lane))!;
  const h = await pointerHistory(db, lane);
  const last = h[h.length - 1];
  const contiguous = h.every((row, i) => row.version === h[0].version + i);
  const same =
    !!last && last.version === p.version && last.liveTable === p.liveTable && last.candidateTable === p.candidateTable &&
    last.canaryPercent === p.canaryPercent && last.cacheEpoch === p.cacheEpoch;
  check(f, `pointer of ${lane} equals its newest history row`, same && contiguous, `pointer v${p.version}, history ${h.map((x) => `v${x.version}:${x.action}`).join(',')}`);
}

/**
 * The pointer is consistent with the phase the bakeoff was in when the fault hit. The status shows
 * the last completed step, and the step in flight may already have landed, so each phase allows its
 * own pointer state and the next one: untouched before the canary; after gating, untouched or the
 * first split; in stage i, split i or split i+1 (or promoted after the last); between stages (after a
 * continue-as-new the stage is not shown) any split; promoting, the last split or promoted;
 * rolling back, a split or the baseline; at the end, promoted or the baseline. Once a rollback has
 * been asked for, the baseline may be back before the status says 'rolling-back'.
 */
export function pointerFitsPhase(
  p: PointerState,
  st: BakeoffStatus,
  ramp: number[],
  baselineTable: string,
  candidateTable: string,
  /** A rollback was asked for (maybe not yet in the status): the baseline may already be back. */
  rollbackRequested = false,
): { ok: boolean; why: string } {
  const phase = st.phase;
  const onBaseline = p.liveTable === baselineTable;
  const untouched = onBaseline && p.candidateTable === null && p.canaryPercent === 0;
  const splitAt = (pct: number | undefined) => pct !== undefined && onBaseline && p.candidateTable === candidateTable && p.canaryPercent === pct;
  const anySplit = ramp.some((x) => splitAt(x));
  const promoted = p.liveTable === candidateTable && p.candidateTable === null && p.canaryPercent === 0;
  const why = `phase ${phase}${st.stage ? ` stage ${st.stage.index + 1}` : ''}: live ${p.liveTable}, candidate ${p.candidateTable ?? '-'} at ${p.canaryPercent}%`;
  let ok: boolean;
  if (st.dryRun || ['locking', 'backing-up', 'ingesting', 'evaluating', 'probing', 'failed'].includes(phase)) ok = untouched;
  else if ((phase === 'gating' || phase === 'awaiting-operator' || phase === 'canary') && !st.stage) {
    ok = st.live.checks === 0 ? untouched || splitAt(ramp[0]) : anySplit || promoted;
  } else if (phase === 'canary' || phase === 'awaiting-operator') {
    const i = st.stage!.index;
    ok = splitAt(ramp[i]) || splitAt(ramp[i + 1]) || (i === ramp.length - 1 && promoted);
  } else if (phase === 'promoting') ok = anySplit || promoted;
  else if (phase === 'done') ok = promoted;
  else if (phase === 'rolling-back') ok = untouched || anySplit;
  else ok = untouched; // rolled-back
  if (!ok && untouched && (rollbackRequested || st.rollback !== null) && !['locking', 'backing-up', 'ingesting', 'evaluating', 'probing'].includes(phase)) ok = true;
  return { ok, why: `${why}${rollbackRequested || st.rollback ? ' (rollback requested)' : ''}` };
}

export interface EffectExpectation {
  lane: string;
  workflowId: string;
  /** Canary percents in the order they were applied. */
  splits: number[];
  outcome: 'promoted' | 'rolled-back' | 'dry-run';
}

/**
 * Every side effect applied exactly once: the pointer history after `init` is exactly the expected
 * sequence, one backup (catalog row and table), one archive row per promotion, one audit row per
 * effect. Anything more is counted in appliedTwice.
 */
export async function checkEffectsOnce(f: Findings, db: Db, e: EffectExpectation): Promise<void> {
  const h = await pointerHistory(db, e.lane);
  const actions = h.filter((x) => x.action !== 'init').map((x) => (x.action === 'split' ? `split:${x.canaryPercent}` : x.action));
  const expected =
    e.outcome === 'promoted'
      ? // A 100 % stage mirrors the candidate as its concurrent baseline and clears it before the promotion.
        [...e.splits.map((p) => `split:${p}`), ...(e.splits.includes(100) ? ['mirror', 'mirror-clear'] : []), 'promote']
      : e.outcome === 'rolled-back'
        ? [...e.splits.map((p) => `split:${p}`), ...(e.splits.length > 0 ? ['restore', 'cache-clear'] : [])]
        : [];
  check(f, `pointer history of ${e.lane} is exactly ${expected.join(' → ') || '(no change)'}`, JSON.stringify(actions) === JSON.stringify(expected), `got ${actions.join(' → ') || '(no change)'}`);
  f.appliedTwice += Math.max(0, actions.length - expected.length);

  const audit = await db.query<{ activity: string; n: number }>(
    `SELECT activity, count(*)::int AS n FROM activity_audit WHERE workflow_id = $1 GROUP BY activity`,
    [e.workflowId],
  );
  const byActivity = Object.fromEntries(audit.rows.map((r) => [r.activity, r.n]));
  const want: Record<string, number> = {
    backupLive: e.outcome === 'dry-run' ? 0 : 1,
    setTrafficSplit: e.splits.length,
    promoteCandidate: e.outcome === 'promoted' ? 1 : 0,
    restoreBaseline: e.outcome === 'rolled-back' && e.splits.length > 0 ? 1 : 0,
    clearCaches: e.outcome === 'rolled-back' && e.splits.length > 0 ? 1 : 0,
  };
  for (const [activity, n] of Object.entries(want)) {
    const got = byActivity[activity] ?? 0;
    check(f, `${activity} applied ${n}× (audit rows)`, got === n, `${got} audit rows`);
    f.appliedTwice += Math.max(0, got - n);
  }

  const backups = await db.query<{ backup_table: string }>('SELECT backup_table FROM backup_catalog WHERE workflow_id = $1', [e.workflowId]);
  const bkTables = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE $1`,
    [`bk\\_${e.lane}\\_%`],
  );
  const wantBackups = e.outcome === 'dry-run' ? 0 : 1;
  check(f, `one backup (catalog row and table) for ${e.workflowId}`, backups.rows.length === wantBackups && bkTables.rows[0].n === wantBackups,
    `${backups.rows.length} catalog rows, ${bkTables.rows[0].n} bk_${e.lane}_* tables`);
  f.appliedTwice += Math.max(0, backups.rows.length - wantBackups) + Math.max(0, bkTables.rows[0].n - wantBackups);

  const archive = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM config_archive WHERE workflow_id = $1', [e.workflowId]);
  const wantArchive = e.outcome === 'promoted' ? 1 : 0;
  check(f, `config archived ${wantArchive}× by ${e.workflowId}`, archive.rows[0].n === wantArchive, `${archive.rows[0].n} config_archive rows`);
  f.appliedTwice += Math.max(0, archive.rows[0].n - wantArchive);
}

/**
 * The bakeoff's backup restores: its table holds the baseline exactly as it was (the clean baseline's
 * rows), and restoreBackup puts that table and the pointer row of the start back in one transaction.
 */
export async function checkBackupRestores(f: Findings, db: Db, backupId: string, baseline: ChunkFingerprint, before: PointerState): Promise<void> {
  const snap = await fingerprintTable(db, backupId);
  const d = compareChunks(baseline, snap);
  check(f, `backup ${backupId} holds the baseline as it was`, d.lost === 0 && d.duplicated === 0 && d.changed === 0, `${snap.rows} rows; lost ${d.lost}, extra ${d.duplicated}, changed ${d.changed}`);
  f.lost += d.lost + d.changed;
  f.duplicated += d.duplicated;

  const restored = await restoreBackup(db, backupId, 'chaos-check');
  const p = restored.pointer;
  const sameRow = p.liveTable === before.liveTable && p.liveIndex === before.liveIndex && p.liveConfigHash === before.liveConfigHash &&
    p.candidateTable === before.candidateTable && p.canaryPercent === before.canaryPercent;
  const after = await fingerprintTable(db, restored.backup.sourceTable);
  const d2 = compareChunks(baseline, after);
  check(f, `restore of ${backupId} brings back the pointer and the rows`, sameRow && d2.lost === 0 && d2.duplicated === 0 && d2.changed === 0,
    `pointer live ${p.liveTable} candidate ${p.candidateTable ?? '-'} ${p.canaryPercent}%; ${after.rows} rows in ${restored.backup.sourceTable}`);
}

export async function tableRows(db: Db, table: string): Promise<number> {
  const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${quoteIdent(table)}`);
  return r.rows[0].n;
}
