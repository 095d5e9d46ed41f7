// Every failure the CLI reports is one readable line (or a few "field: message" lines), never a stack
// trace: the operator typed something wrong or the server is not where we looked. describeError maps
// the errors the SDK, zod and our own modules throw to those lines; anything unrecognised keeps its
// message (and its stack only with BAKEOFF_DEBUG=1).
import { ServiceError, WorkflowFailedError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { ApplicationFailure, NamespaceNotFoundError, WorkflowNotFoundError } from '@temporalio/common';
import { z } from 'zod';
import { BakeoffAlreadyRunningError, BakeoffInputError, InvalidWorkflowIdError } from '../client/bakeoff';
import { ConfigError } from '../platform/temporal-config';
import { EXIT, type ExitCode } from './exit-codes';
import { formatZodIssues } from '../platform/zod-issues';

/** A failure whose message is already fit for the operator. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.ERROR,
  ) {
    super(message);
  }
}

/** Where a command was talking to, for messages like "no bakeoff with id X on <address>". */
export interface ErrorContext {
  address?: string;
  namespace?: string;
  workflowId?: string;
}

export function describeError(err: unknown, ctx: ErrorContext = {}): string {
  const where = ctx.address ? ` on ${ctx.address} (namespace ${ctx.namespace ?? 'default'})` : '';
  if (err instanceof CliError) return err.message;
  if (err instanceof ConfigError || err instanceof BakeoffInputError || err instanceof BakeoffAlreadyRunningError || err instanceof InvalidWorkflowIdError) return err.message;
  if (err instanceof z.ZodError) return formatZodIssues(err);
  if (err instanceof WorkflowNotFoundError) {
    if (/already completed/i.test(err.message)) return `bakeoff ${ctx.workflowId ?? err.workflowId} has already finished: there is nothing to send it (see \`bakeoff status ${ctx.workflowId ?? err.workflowId}\`)`;
    return `no bakeoff with id ${ctx.workflowId ?? err.workflowId}${where}`;
  }
  if (err instanceof NamespaceNotFoundError) return `namespace ${err.namespace} does not exist${ctx.address ? ` on ${ctx.address}` : ''} (set TEMPORAL_NAMESPACE or --namespace)`;
  if (err instanceof WorkflowUpdateFailedError) return innermostMessage(err);
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
    return `no answer from bakeoff ${ctx.workflowId ?? ''} in time: is a worker running? (\`bakeoff worker\`) A signal needs no worker: drop --wait`.replace('  ', ' ');
  }
  if (err instanceof WorkflowFailedError) return `bakeoff ${ctx.workflowId ?? ''} failed: ${innermostMessage(err)}`;
  if (err instanceof ApplicationFailure) return err.message;
  if (isUnreachable(err)) return `cannot reach the Temporal server at ${ctx.address ?? '(no address)'}: is it running? (\`bakeoff server start\` starts a local one; TEMPORAL_ADDRESS or --address points elsewhere)`;
  if (err instanceof ServiceError) return `${err.message}${where}: ${innermostMessage(err)}`;
  return err instanceof Error ? err.message : String(err);
}

/** Connection failures as the SDK reports them (before and after the first successful call). */
export function isUnreachable(err: unknown): boolean {
  const text = chainText(err);
  return /Failed to connect before the deadline|ECONNREFUSED|UNAVAILABLE|No connection established|connect ECONN|Name resolution failed|ENOTFOUND/i.test(text);
}

function chainText(err: unknown): string {
  const parts: string[] = [];
  let e = err as { message?: string; cause?: unknown; code?: unknown; details?: unknown } | undefined;
  for (let depth = 0; e && depth < 8; depth++) {
    if (e.message) parts.push(e.message);
    if (typeof e.details === 'string') parts.push(e.details);
    if (e.code === 14) parts.push('UNAVAILABLE');
    e = e.cause as typeof e;
  }
  return parts.join(' | ');
}

/** The deepest message of an error chain: the workflow's own words ("rollback rejected: ..."). */
export function innermostMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  let message = e?.message ?? String(err);
  for (let depth = 0; e?.cause && depth < 8; depth++) {
    e = e.cause as typeof e;
    if (e?.message) message = e.message;
  }
  return message;
}

/** gRPC DEADLINE_EXCEEDED (4) anywhere in the chain: the server gave up waiting (e.g. for a worker). */
export function isDeadlineExceeded(err: unknown): boolean {
  let e = err as { code?: unknown; cause?: unknown; message?: string } | undefined;
  for (let depth = 0; e && depth < 8; depth++) {
    if (e.code === 4 || /deadline exceeded/i.test(e.message ?? '')) return true;
    e = e.cause as typeof e;
  }
  return false;
}
