// Commands on the bakeoff store itself: backups of a lane's live table and pointer (create, list,
// restore), and the pointer with its history (what on-call checks after a rollback).
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { backupIdFor, listBackups, restoreBackup, snapshotLane } from '../../store/backups';
import { pointerHistory, readPointer } from '../../store/pointer';
import { laneSchema } from '../../workflows/messages';
import { exitWith, type CliContext } from '../context';
import { CliError } from '../errors';
import { EXIT } from '../exit-codes';
import { formatTime, renderTable } from '../render';
import { withStore } from '../store';
import { defaultActor } from '../target';

export function checkLane(lane: string): string {
  const p = laneSchema.safeParse(lane);
  if (!p.success) throw new CliError(`--lane ${JSON.stringify(lane)}: ${p.error.issues[0].message}`);
  return lane;
}

export function registerStoreCommands(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  const backup = program.command('backup').description('snapshots of a lane\'s live chunk table and pointer row');

  backup
    .command('create')
    .description('snapshot the live table and pointer of a lane now')
    .option('--lane <lane>', 'serving lane', 'default')
    .option('--by <name>', 'who is acting (default $USER)')
    .action(exitWith(ctx, async (opts: { lane: string; by?: string }) => {
      const lane = checkLane(opts.lane);
      const by = opts.by ?? defaultActor(ctx.env);
      const ref = await withStore(ctx.env, async (db) => {
        if (!(await readPointer(db, lane))) throw new CliError(`lane '${lane}' has no pointer: nothing to back up (bakeoff ingest --baseline creates it)`);
        const backupId = backupIdFor(lane, `cli/${by}/${Date.now()}/${randomBytes(4).toString('hex')}`);
        return db.transaction((tx) => snapshotLane(tx, { lane, backupId, by }));
      }, { command: 'backup create' });
      io.out(`backup ${ref.backupId}: ${ref.rows} rows of ${ref.sourceTable}, pointer v${ref.pointer.version} (live ${ref.pointer.liveTable}${ref.pointer.candidateTable ? `, ${ref.pointer.canaryPercent} % to ${ref.pointer.candidateTable}` : ''})`);
      io.out(`restore it with: bakeoff backup restore ${ref.backupId} --confirm`);
      return EXIT.OK;
    }));

  backup
    .command('list')
    .description('backups, newest first')
    .option('--lane <lane>', 'only this lane')
    .option('--json', 'print JSON lines')
    .action(exitWith(ctx, async (opts: { lane?: string; json?: boolean }) => {
      const lane = opts.lane === undefined ? undefined : checkLane(opts.lane);
      const refs = await withStore(ctx.env, (db) => listBackups(db, lane), { command: 'backup list' });
      if (opts.json) for (const r of refs) io.out(JSON.stringify(r));
      else if (refs.length === 0) io.out('no backups');
      else {
        io.out(renderTable(
          ['BACKUP ID', 'LANE', 'SOURCE TABLE', 'ROWS', 'POINTER', 'CREATED'],
          refs.map((r) => [r.backupId, r.lane, r.sourceTable, String(r.rows), `v${r.pointer.version} live ${r.pointer.liveTable}${r.pointer.candidateTable ? ` + ${r.pointer.canaryPercent}% ${r.pointer.candidateTable}` : ''}`, formatTime(r.createdAt)]),
        ));
      }
      return EXIT.OK;
    }));

  backup
    .command('restore <backupId>')
    .description('put a backup back: the live table\'s rows and the pointer row, in one transaction')
    .option('--confirm', 'really do it (without it, only say what would happen)')
    .option('--by <name>', 'who is acting (default $USER)')
    .action(exitWith(ctx, async (backupId: string, opts: { confirm?: boolean; by?: string }) => {
      const by = opts.by ?? defaultActor(ctx.env);
      if (!opts.confirm) {
        const refs = await withStore(ctx.env, (db) => listBackups(db), { command: 'backup restore' });
        const ref = refs.find((r) => r.backupId === backupId);
        if (!ref) throw new CliError(`no backup '${backupId}' (list them with: bakeoff backup list)`);
        io.out(`would restore ${ref.backupId}: replace the rows of ${ref.sourceTable} with the ${ref.rows} backed-up rows and set lane ${ref.lane}'s pointer back to v${ref.pointer.version} (live ${ref.pointer.liveTable}, ${ref.pointer.canaryPercent} % canary)`);
        throw new CliError(`refusing to restore without --confirm: bakeoff backup restore ${backupId} --confirm`);
      }
      const r = await withStore(ctx.env, (db) => restoreBackup(db, backupId, by).catch((err: Error) => {
        throw new CliError(err.message);
      }), { command: 'backup restore' });
      io.out(`restored ${r.backup.backupId}: ${r.rows} rows in ${r.backup.sourceTable}; lane ${r.pointer.lane} pointer now v${r.pointer.version} (live ${r.pointer.liveTable}, canary ${r.pointer.canaryPercent} %, cache epoch ${r.pointer.cacheEpoch})`);
      return EXIT.OK;
    }));

  program
    .command('pointer')
    .description('the active pointer of a lane (what serving reads), optionally with its history')
    .option('--lane <lane>', 'serving lane', 'default')
    .option('--history', 'every change, oldest first (init, split, restore, promote, cache-clear)')
    .option('--json', 'print JSON')
    .action(exitWith(ctx, async (opts: { lane: string; history?: boolean; json?: boolean }) => {
      const lane = checkLane(opts.lane);
      await withStore(ctx.env, async (db) => {
        const p = await readPointer(db, lane);
        if (!p) throw new CliError(`lane '${lane}' has no pointer (bakeoff ingest --baseline creates it)`);
        const history = opts.history ? await pointerHistory(db, lane) : [];
        if (opts.json) {
          io.out(JSON.stringify(opts.history ? { pointer: p, history } : p, null, 2));
          return;
        }
        io.out(`lane ${p.lane}: live ${p.liveTable} (config ${p.liveConfigHash?.slice(0, 16) ?? '?'}…)${p.candidateTable ? `, ${p.canaryPercent} % to ${p.candidateTable}` : ', no canary'} · v${p.version} · cache epoch ${p.cacheEpoch} · by ${p.updatedBy} at ${formatTime(p.updatedAt)}${p.reason ? ` · ${p.reason}` : ''}`);
        if (opts.history) {
          io.out('');
          io.out(renderTable(
            ['VERSION', 'ACTION', 'LIVE', 'CANDIDATE', 'PERCENT', 'BY', 'AT', 'REASON'],
            history.map((h) => [`v${h.version}`, h.action, h.liveTable, h.candidateTable ?? '—', String(h.canaryPercent), h.updatedBy, formatTime(h.updatedAt), h.reason ?? '']),
          ));
        }
      }, { mustExist: true, command: 'pointer' });
      return EXIT.OK;
    }));
}
