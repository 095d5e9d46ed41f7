// The one way zod issues become user errors: `field.path: message`, one per issue, never a stack
// trace. Call sites differ only in how they name the whole value, mark a path (a CLI's `--`) and
// join the issues, so those are options. Imports zod's types only: the workflow sandbox uses it too.
import type { z } from 'zod';

export interface IssueFormat {
  /** Names an issue about the whole value (empty path); null prints just its message. Default '(input)'. */
  root?: string | null;
  /** Put before every path (and before `root`): '--' for CLI flags, 'candidate.' for a nested value. */
  prefix?: string;
}

/** One line per issue. */
export function zodIssueLines(err: z.ZodError, f: IssueFormat = {}): string[] {
  const { root = '(input)', prefix = '' } = f;
  return err.issues.map((i) => {
    const at = i.path.map(String).join('.');
    if (!at && root === null) return i.message;
    return `${prefix}${at || root}: ${i.message}`;
  });
}

/** The issues joined by `separator` (default one per line). */
export function formatZodIssues(err: z.ZodError, f: IssueFormat & { separator?: string } = {}): string {
  return zodIssueLines(err, f).join(f.separator ?? '\n');
}
