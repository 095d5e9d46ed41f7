// The Web UI's Summary and Details for a bakeoff (static user metadata, set once at start): what this
// bakeoff is and its plan, next to the Current Details the workflow keeps current (where it is, how it
// ended). Part of the start request, not a workflow command: no history or replay changes. Pure.
import { computeConfigHash } from '../rag/config';
import { formatDuration } from '../workflows/duration';
import type { BakeoffInput } from '../workflows/messages';

export interface UiSummary {
  /** One line (the UI shows it as the workflow's Summary). */
  staticSummary: string;
  /** Markdown (the UI's Details). */
  staticDetails: string;
}

export function bakeoffUiSummary(input: BakeoffInput): UiSummary {
  const hash = computeConfigHash(input.candidate as unknown as Parameters<typeof computeConfigHash>[0]);
  const version = (input.candidate as { chunk_version?: unknown }).chunk_version;
  const what = `${input.dryRun ? 'Dry run' : 'Bakeoff'} of config ${hash.slice(0, 12)}${typeof version === 'string' ? ` (${version})` : ''}`;
  const stages = input.ramp.map((s) => `${s.percent} % for ${formatDuration(input.dryRun ? input.dryRunSoak : s.soak)}`);
  if (input.shadow) stages.unshift(`shadow ${input.shadow.percent} % mirrored for ${formatDuration(input.shadow.soak)}`);
  const details = [
    `**Plan**: offline gates → ${stages.join(' → ')} → ${input.dryRun ? 'report (the pointer is never touched)' : 'promote'}`,
    `live checks every ${formatDuration(input.checkInterval)} · an inconclusive verdict waits ${formatDuration(input.operatorDeadline)} for approve/abort`,
    'How it ended: the `BakeoffOutcome` search attribute (a column in the workflows list) and Current Details.',
  ];
  return {
    staticSummary: `${what} on lane ${input.baseline.lane}, requested by ${input.requestedBy}`,
    staticDetails: details.join('\n\n'),
  };
}
