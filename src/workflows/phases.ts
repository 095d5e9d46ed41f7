// Every phase change the bakeoff workflow makes, in one table (the phase diagram of docs/workflow.md
// as data). The workflow's setPhase refuses any transition not listed here, so a change that adds a
// path must add it here first. Pure data, safe in the sandbox.
// One method of bakeoff.ts enters each phase: locking lock(), backing-up backup(), ingesting
// shadowIngest(), evaluating evaluate(), probing probe(), gating gate(), shadow shadowStage(),
// canary canary(), awaiting-operator awaitOperator() (and back), promoting / done promote(), failed
// gate(), onError() or promote() (a dry run whose gates failed), rolling-back / rolled-back rollback().
import type { Phase } from './types';

export const TRANSITIONS: Readonly<Record<Phase, readonly Phase[]>> = {
  // 'locking' → 'locking': a run starts in 'locking' and lock() announces it again.
  locking: ['locking', 'backing-up', 'ingesting', 'failed', 'rolling-back'],
  'backing-up': ['ingesting', 'failed', 'rolling-back'],
  ingesting: ['evaluating', 'failed', 'rolling-back'],
  evaluating: ['probing', 'failed', 'rolling-back'],
  probing: ['gating', 'failed', 'rolling-back'],
  // gating → failed: a failed gate; → awaiting-operator: inconclusive gates; → canary: pass;
  // → shadow: pass, when the input asks for a shadow stage (mirrored traffic before any split).
  gating: ['shadow', 'canary', 'awaiting-operator', 'failed', 'rolling-back'],
  // shadow → canary: mirrored checks passed (or approved); → failed: an error before any split.
  shadow: ['canary', 'awaiting-operator', 'failed', 'rolling-back'],
  // canary → canary: the next stage; → failed: a dry run (nothing to roll back) that errs.
  canary: ['canary', 'awaiting-operator', 'promoting', 'failed', 'rolling-back'],
  // back to where the bakeoff waited from (gating, shadow or canary) after an approve.
  'awaiting-operator': ['gating', 'shadow', 'canary', 'promoting', 'failed', 'rolling-back'],
  // promoting → failed: a dry run whose offline verdict was fail, or a dry-run error.
  promoting: ['done', 'failed', 'rolling-back'],
  'rolling-back': ['rolled-back'],
  done: [],
  'rolled-back': [],
  failed: [],
};

export function canTransition(from: Phase, to: Phase): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Thrown by setPhase: fails the workflow task (a code bug), never the bakeoff. */
export class IllegalPhaseTransition extends Error {
  override name = 'IllegalPhaseTransition';
  constructor(from: Phase, to: Phase) {
    super(`illegal phase transition ${from} → ${to} (see src/workflows/phases.ts)`);
  }
}
