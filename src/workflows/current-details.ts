// What the Temporal Web UI shows on a bakeoff's page under "Current Details" (workflow user
// metadata, setCurrentDetails): the outcome, the stage and the shadow stage's verdict at a glance,
// without running the status query. Not a command: the SDK answers it through its metadata query, so
// updating it never changes a history (no patched() needed). Pure; markdown as the UI renders it.
import { formatDuration } from './duration';
import type { BakeoffStatus, Gate } from './types';

const pct = (x: number | null | undefined, digits = 0): string => (x === null || x === undefined ? 'n/a' : `${(x * 100).toFixed(digits)} %`);
const num = (x: number | null | undefined): string => (x === null || x === undefined ? 'n/a' : x.toFixed(3));
const iso = (ms: number | undefined): string => (ms === undefined ? '?' : new Date(ms).toISOString().replace('.000Z', 'Z'));

function outcomeLine(s: BakeoffStatus): string {
  if (s.phase === 'done') return s.dryRun ? `**Dry run finished** · offline verdict ${(s.verdict ?? 'n/a').toUpperCase()}` : `**Promoted** ${s.promotion ? `at ${iso(s.promotion.at)} by ${s.promotion.by}` : ''}`.trim();
  if (s.phase === 'rolled-back') return `**Rolled back**${s.rollback ? `: ${s.rollback.reason} (by ${s.rollback.by}, asked ${iso(s.rollback.requestedAt)}, pointer back ${iso(s.rollback.pointerRestoredAt)})` : ''}`;
  if (s.phase === 'failed') return `**Failed**: ${s.failure ?? 'unknown'}`;
  return `**Phase**: ${s.phase}${s.paused ? ' (paused)' : ''}${s.dryRun ? ' · dry run' : ''}`;
}

function gateLine(g: Gate): string {
  return `${g.name} ${g.verdict.toUpperCase()}`;
}

/** The markdown the UI shows; every line reads on its own. */
export function currentDetails(s: BakeoffStatus): string {
  const lines = [outcomeLine(s), `lane \`${s.lane}\`${s.configHash ? ` · config \`${s.configHash.slice(0, 12)}\`` : ''}`];
  if (s.stage && !['done', 'rolled-back', 'failed'].includes(s.phase)) {
    lines.push(`**Stage** ${s.stage.index + 1} of ${s.stagesTotal} · ${s.stage.percent} % of traffic to the candidate · ${formatDuration(s.stage.remainingMs)} left`);
  }
  const sh = s.shadow;
  if (sh) {
    const m = sh.mirror;
    lines.push(
      `**Shadow stage** ${sh.outcome ?? (sh.startedAt === null ? 'not started' : 'running')} · ${m.n} mirrored requests compared, ${m.dropped} dropped (${pct(m.droppedShare, 1)}) · overlap@10 ${num(m.meanOverlapAt10)} · RBO ${num(m.meanRbo)} · top-1 changed ${pct(m.top1ChangeRate, 1)}`,
    );
    if (sh.live.lastGates.length > 0) lines.push(`shadow gates: ${sh.live.lastGates.map(gateLine).join(' · ')}`);
  }
  if (s.verdict) lines.push(`**Offline verdict** ${s.verdict.toUpperCase()}`);
  if (s.live.checks > 0) {
    lines.push(`**Live checks** ${s.live.checks} (${s.live.passes} pass, ${s.live.fails} fail, ${s.live.inconclusive} inconclusive)`);
    if (s.live.lastGates.length > 0) lines.push(`last: ${s.live.lastGates.map(gateLine).join(' · ')}`);
  }
  if (s.awaiting) lines.push(`**Awaiting an operator** (since ${iso(s.awaiting.since)}): ${s.awaiting.reason}`);
  return lines.join('\n\n');
}
