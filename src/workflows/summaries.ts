// One-line summaries of the commands a bakeoff schedules, for the Web UI's workflow page (issue 15
// item 5): each activity and durable timer says what it does for THIS bakeoff ("set split 10 % →
// candidate …", "stage 1/3 soak: …"). They travel as the command's user metadata, which the server
// stores but no replay compares, so they may change between versions without a patch (verified by
// test/workflows/replay.test.ts). Pure and deterministic: built from the activity's input and
// workflow state only.
import type { BakeoffActivities } from '../activities/types';
import type { EvaluationHistoryActivities } from '../activities/record-evaluation';
import { formatDuration } from './duration';

/** Every activity a workflow of this project schedules. */
export type SummarizedActivities = BakeoffActivities & EvaluationHistoryActivities;
/** Partial: an activity added without a describer is shown by its name until someone writes one. */
type Describers = { [K in keyof SummarizedActivities]?: (input: Parameters<SummarizedActivities[K]>[0]) => string };

/** The UI shows one line; longer text is cut here, never by the browser mid-word. */
const MAX_SUMMARY_CHARS = 160;

const hash8 = (hash: string | null | undefined): string => (hash ? hash.slice(0, 8) : '(unknown)');
const cases = (ref: string, max: number | undefined): string => (max !== undefined ? `${ref} (first ${max} cases)` : ref);
const traffic = (t: 'live' | 'mirror' | undefined): string => (t === 'mirror' ? 'mirrored pairs' : 'live traffic');

const DESCRIBERS: Describers = {
  validateInput: () => 'validate the bakeoff input',
  lockConfig: (i) => `lock the candidate config (requested by ${i.requestedBy})`,
  lockCorpus: (i) => `fingerprint the ${i.locked.dataset ?? 'faq'} corpus for config ${hash8(i.locked.config_hash)}`,
  readPointer: (i) => `read the serving pointer of lane ${i.lane}`,
  claimLane: (i) => `lease lane ${i.lane} to this bakeoff`,
  releaseLane: (i) => `release lane ${i.lane}`,
  backupLive: (i) => `back up the live table and pointer of lane ${i.lane}`,
  shadowIngest: (i) => `shadow ingest of ${i.locked.ingest_run_id} into ${i.table} (config ${hash8(i.locked.config_hash)})${i.dryRun ? ', dry run' : ''}`,
  ingestShard: (i) => `ingest shard ${i.shard.index + 1}/${i.shard.count} into ${i.table} (config ${hash8(i.locked.config_hash)})`,
  buildIndexes: (i) => `build the indexes of ${i.table} from ${i.shards} shards (config ${hash8(i.locked.config_hash)})`,
  evaluate: (i) =>
    i.maxCases !== undefined && i.side === 'baseline'
      ? `smoke eval of baseline ${i.table} on ${cases(i.caseSetRef, i.maxCases)}`
      : `evaluate ${i.side} ${i.table} on ${cases(i.caseSetRef, i.maxCases)}`,
  evaluatePair: (i) => `evaluate candidate ${i.candidate.table} vs baseline ${i.baseline.table} on ${cases(i.caseSetRef, i.maxCases)}`,
  runProbes: (i) => `probe candidate ${i.table} (config ${hash8(i.locked.config_hash)})`,
  setTrafficSplit: (i) => `set split ${i.percent} % → candidate ${i.candidateTable} (${i.reason})`,
  setMirror: (i) => `mirror ${i.percent} % of requests to ${i.table} (${i.reason})`,
  clearMirror: (i) => `clear the mirror of lane ${i.lane} (${i.reason})`,
  restoreBaseline: (i) => `restore pointer to ${i.baseline.table} (config ${hash8(i.baseline.configHash)})`,
  clearCaches: (i) => `clear the answer caches of lane ${i.lane}`,
  promoteCandidate: (i) => `promote ${i.candidateTable} to live on lane ${i.lane} (config ${hash8(i.candidateConfigHash)})`,
  checkLiveKpis: (i) => `live check of lane ${i.lane}: last ${formatDuration(i.toMs - i.fromMs)} of ${traffic(i.traffic)}`,
  notify: (i) => `notify ${i.event === 'phase' ? `phase → ${i.phase}` : i.event}: ${i.message}`,
  writeReport: (i) => `write the report (phase ${i.status.phase})`,
  recordEvaluation: (i) => `record the ${i.kind} evaluation of lane ${i.lane}`,
};

/** The summary of one activity call; an activity without a describer (or a malformed input) is named as is. */
export function activitySummary(name: string, input: unknown): string {
  const describe = (DESCRIBERS as Record<string, ((i: unknown) => string) | undefined>)[name];
  if (!describe) return name;
  try {
    return oneLine(describe(input));
  } catch {
    return name; // display only: a summary must never fail the workflow task
  }
}

/** A soak's durable timer: what is soaking, how much is left, when the next check comes. */
export function soakTimerSummary(what: string, remainingMs: number, waitMs: number): string {
  return oneLine(`${what}: ${formatDuration(remainingMs)} left (next check in ${formatDuration(waitMs)})`);
}

/** The operator decision's durable timer: until when the bakeoff waits before it rolls back. */
export function operatorTimerSummary(deadlineMs: number): string {
  return `waiting for an operator (approve or abort) until ${new Date(deadlineMs).toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
}

/** One line of at most MAX_SUMMARY_CHARS characters. */
export function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= MAX_SUMMARY_CHARS ? flat : `${flat.slice(0, MAX_SUMMARY_CHARS - 1)}…`;
}
