// The shadow stage every bakeoff the CLI or the demo starts gets unless its input says otherwise
// (issue 14). Filled in by the input builders, not by the workflow: an input without `shadow` (a raw
// `temporal workflow start`, every recorded history) runs exactly as before, so no patch is needed.
// Why these numbers: docs/workflow.md, "Shadow stage".
import type { BakeoffInputRaw } from '../workflows/messages';

type ShadowRaw = NonNullable<BakeoffInputRaw['shadow']>;

/**
 * Real bakeoffs: 30 minutes of every request mirrored before any user sees the candidate. At the serving
 * path's mirror cap (5 a second) that is up to 9,000 compared requests, 45 × the live judge's minSamples.
 */
export const DEFAULT_SHADOW: Readonly<ShadowRaw> = { soak: '30m', percent: 100, minOverlapAt10: 0.5, onInconclusive: 'canary' };

/**
 * Dry runs (CI, the demo): one minute, checked every 10 s: up to 300 compared requests at the mirror
 * cap, enough for the overlap and samples gates to decide; a dry run only reports.
 */
export const DEFAULT_DRY_RUN_SHADOW: Readonly<ShadowRaw> = { soak: '60s', checkInterval: '10s', percent: 100, minOverlapAt10: 0.5, onInconclusive: 'canary' };

/** `shadow: false` or "off" in a file or flag: no shadow stage. */
export function isShadowOff(v: unknown): boolean {
  return v === false || v === 'off' || v === 'none';
}

export function defaultShadowFor(dryRun: boolean): ShadowRaw {
  return { ...(dryRun ? DEFAULT_DRY_RUN_SHADOW : DEFAULT_SHADOW) };
}

/**
 * The input with its shadow stage settled: kept when given, removed when switched off, else the
 * default for its kind (dry run or real).
 */
export function withShadowDefault<T extends Record<string, unknown>>(raw: T): T {
  const out: Record<string, unknown> = { ...raw };
  if (isShadowOff(out.shadow)) delete out.shadow;
  else if (out.shadow === undefined) out.shadow = defaultShadowFor(out.dryRun === true);
  return out as T;
}
