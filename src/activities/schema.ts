// DDL of every table the bakeoff's platform activities own. Idempotent: run at worker start.
import type { Db } from '../platform/db';
import { AUDIT_DDL } from '../store/audit';
import { BACKUP_DDL } from '../store/backups';
import { LIVE_KPIS_DDL } from './canary';
import { EVALUATION_HISTORY_DDL } from '../store/evaluation-history';
import { CONFIG_ARCHIVE_DDL, POINTER_DDL } from './pointer';
import { REPORTS_DDL } from './report';

export async function ensurePlatformSchema(db: Db): Promise<void> {
  for (const ddl of [AUDIT_DDL, POINTER_DDL, CONFIG_ARCHIVE_DDL, BACKUP_DDL, LIVE_KPIS_DDL, REPORTS_DDL, EVALUATION_HISTORY_DDL]) {
    await db.exec(ddl);
  }
}
