// DDL of every table the bakeoff's stores own. Idempotent: run at worker, service and CLI start.
import type { Db } from '../platform/db';
import { CONFIG_ARCHIVE_DDL, POINTER_DDL } from './pointer';
import { AUDIT_DDL } from './audit';
import { BACKUP_DDL } from './backups';
import { EVALUATION_HISTORY_DDL } from './evaluation-history';
import { LIVE_KPIS_DDL } from './live-kpis';
import { MIRROR_COMPARISONS_DDL } from './mirror-comparisons';
import { REPORTS_DDL } from './reports';

export async function ensurePlatformSchema(db: Db): Promise<void> {
  for (const ddl of [AUDIT_DDL, POINTER_DDL, CONFIG_ARCHIVE_DDL, BACKUP_DDL, LIVE_KPIS_DDL, MIRROR_COMPARISONS_DDL, REPORTS_DDL, EVALUATION_HISTORY_DDL]) {
    await db.exec(ddl);
  }
}
