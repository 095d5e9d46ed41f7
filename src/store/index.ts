// The shared store: every table the bakeoff keeps in the database, with its DDL and SQL. Activities,
// the serving path and the CLI all read and write through these modules.
export { ensurePlatformSchema } from './schema';
export { applyOnce, countAudit, recordApplied, wasApplied, type AuditMeta, type OnceResult } from './audit';
export { backupIdFor, listBackups, restoreBackup, snapshotLane } from './backups';
export { appendEvaluation, hasEvaluationHistory, readEvaluationHistory } from './evaluation-history';
export { readReport, reportIdFor, upsertReport } from './reports';
