// DDL of every table the bakeoff's stores own. Idempotent: run at worker, service and CLI start.
import { turnOfEventLoop, type Db } from '../platform/db';
import { CONFIG_ARCHIVE_DDL, POINTER_DDL } from './pointer';
import { AUDIT_DDL } from './audit';
import { BACKUP_DDL } from './backups';
import { EVALUATION_HISTORY_DDL } from './evaluation-history';
import { LIVE_KPIS_DDL } from './live-kpis';
import { MIRROR_COMPARISONS_DDL } from './mirror-comparisons';
import { REPORTS_DDL } from './reports';

export const PLATFORM_DDL = [AUDIT_DDL, POINTER_DDL, CONFIG_ARCHIVE_DDL, BACKUP_DDL, LIVE_KPIS_DDL, MIRROR_COMPARISONS_DDL, REPORTS_DDL, EVALUATION_HISTORY_DDL];

/**
 * The statements of a DDL script: split at semicolons outside quotes and comments. Our DDL has no
 * function bodies; a dollar quote is refused rather than split wrongly.
 */
export function ddlStatements(ddl: string): string[] {
  if (ddl.includes('$$')) throw new Error('ddlStatements: dollar-quoted bodies are not supported; run that DDL with db.exec');
  const out: string[] = [];
  let start = 0;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < ddl.length; i++) {
    const c = ddl[i];
    if (quote) {
      if (c === quote) quote = null; // a doubled quote closes and reopens: same result
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === '-' && ddl[i + 1] === '-') {
      const eol = ddl.indexOf('\n', i);
      i = eol < 0 ? ddl.length : eol;
    } else if (c === ';') {
      out.push(ddl.slice(start, i));
      start = i + 1;
    }
  }
  out.push(ddl.slice(start));
  return out.map((s) => s.trim()).filter((s) => s.replace(/--[^\n]*/g, '').trim() !== '');
}

/**
 * One statement per await, with a turn of the event loop between: PGlite runs SQL on the caller's
 * thread, and a worker's whole schema as one exec held its loop for one long stretch (issue 17).
 */
export async function ensurePlatformSchema(db: Db): Promise<void> {
  for (const ddl of PLATFORM_DDL) {
    for (const statement of ddlStatements(ddl)) {
      await db.exec(statement);
      await turnOfEventLoop();
    }
  }
}
