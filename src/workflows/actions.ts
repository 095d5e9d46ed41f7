// Operator actions as one table: each row says what an action accepts (schema), when it cannot apply
// (problem), what it does (apply) and whether its update answers only once the bakeoff has ended.
// registerActions() turns every row into a signal handler (parse → ignore with a recorded reason, or
// apply) and an update handler (validator rejects before history; handler applies and answers with
// the status). Reads like the messages table of docs/workflow.md.
import type { SignalDefinition, UpdateDefinition } from '@temporalio/common';
import { ApplicationFailure, condition, setHandler } from '@temporalio/workflow';
import type { BakeoffStatus } from './types';

interface ZodIssueLike {
  path: PropertyKey[];
  message: string;
}

type SafeParse<A> = { success: true; data: A } | { success: false; error: { issues: ZodIssueLike[] } };

export interface Schema<A> {
  safeParse(v: unknown): SafeParse<A>;
}

export type Via = 'signal' | 'update';

export interface ActionSpec<A extends { by?: string; reason?: string }> {
  name: string;
  // The argument types are the schema's business: handlers receive unknown and parse it.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  signal: SignalDefinition<[any]>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  update: UpdateDefinition<BakeoffStatus, [any]>;
  schema: Schema<A>;
  /**
   * The same schema as before patch 'operator-identity' (`by` optional). A by-less message in an
   * older bakeoff's history must still apply on replay exactly as it did.
   */
  legacySchema?: Schema<A>;
  /** Why the action cannot apply now; null when it can. */
  problem(): string | null;
  /** The update's own refusal when it differs from the signal's (default: problem). */
  updateProblem?(): string | null;
  /** Applies the action; returns why it was not applied (e.g. a duplicate rollback), else nothing. */
  apply(a: A, via: Via): string | void;
  /** The update answers once the bakeoff reached a terminal phase (rollback, abort). */
  waitsForTerminal?: boolean;
  /** A signal whose payload fails the schema: the args to apply anyway (rollback is the safe side). */
  salvage?(raw: unknown): A;
}

export interface ActionHost {
  snapshot(): BakeoffStatus;
  terminal(): boolean;
  /** patched('operator-identity'): false only while replaying a history from before it. */
  identityRequired(): boolean;
  /** An action the handler applied (or that apply() declined, with the reason in note). */
  record(r: { action: string; via: Via; by: string | undefined; reason?: string; outcome: 'applied' | 'ignored'; note?: string }): void;
  /** A signal ignored by its handler (malformed, or wrong for the phase): an event and a log entry. */
  ignored(action: string, by: string | undefined, why: string, reason?: string): void;
}

/** "field.path: message; …" — the one formatter of zod issues for workflow messages. */
export function issuesOf(err: { issues: ZodIssueLike[] }): string {
  return err.issues.map((i) => `${i.path.map(String).join('.') || '(args)'}: ${i.message}`).join('; ');
}

export function safeText(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() ? v.trim().slice(0, 1000) : undefined;
}

function reject(message: string): never {
  throw ApplicationFailure.create({ type: 'InvalidRequest', message, nonRetryable: true });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function registerActions(specs: ReadonlyArray<ActionSpec<any>>, host: ActionHost): void {
  for (const spec of specs) registerAction(spec, host);
}

function registerAction<A extends { by?: string; reason?: string }>(spec: ActionSpec<A>, host: ActionHost): void {
  const applied = (a: A, via: Via) => {
    const notApplied = spec.apply(a, via);
    host.record({ action: spec.name, via, by: a.by, reason: a.reason, outcome: notApplied ? 'ignored' : 'applied', ...(notApplied ? { note: notApplied } : {}) });
  };

  setHandler(spec.signal as SignalDefinition<[unknown]>, (raw: unknown) => {
    const p = spec.schema.safeParse(raw);
    let a: A | undefined = p.success ? p.data : undefined;
    if (!p.success && spec.legacySchema) {
      const legacy = spec.legacySchema.safeParse(raw);
      if (legacy.success && !host.identityRequired()) a = legacy.data;
    }
    if (!a && spec.salvage) a = spec.salvage(raw);
    const by = a?.by ?? safeText((raw as { by?: unknown } | null)?.by);
    const why = a ? spec.problem() : issuesOf((p as { error: { issues: ZodIssueLike[] } }).error);
    if (!a || why) return host.ignored(spec.name, by, why ?? '', a?.reason);
    applied(a, 'signal');
  });

  setHandler(
    spec.update as UpdateDefinition<BakeoffStatus, [unknown]>,
    async (raw: unknown) => {
      // Validated on acceptance; a by-less update in history can only come from before the patch.
      const p = spec.schema.safeParse(raw);
      const legacy = p.success ? p : spec.legacySchema?.safeParse(raw);
      if (!legacy?.success) reject(`${spec.name}: ${issuesOf((p as { error: { issues: ZodIssueLike[] } }).error)}`);
      applied(legacy.data, 'update');
      if (spec.waitsForTerminal) await condition(() => host.terminal());
      return host.snapshot();
    },
    {
      validator: (raw: unknown) => {
        const p = spec.schema.safeParse(raw);
        if (!p.success) reject(`${spec.name}: ${issuesOf(p.error)}`);
        const why = (spec.updateProblem ?? spec.problem)();
        if (why) reject(`${spec.name} rejected: ${why}`);
      },
    },
  );
}
