// `bakeoff report <workflowId>`: a finished bakeoff's report (the JSON status, or the HTML page) from
// this machine's reports directory, else from the shared artifact store (refs report:<id> and
// report-html:<id>, put there by the control worker's writeReport), so an operator on any machine
// with the DATABASE_URL reads it. A missing or corrupt stored report is one line, never an empty page.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { htmlReportPath, readPublishedBakeoffReport, reportJsonPath, reportRefName, writeReportFile, type ReportFormat } from '../../report/bakeoff-report-file';
import { ArtifactCorrupt, ArtifactMissing, ArtifactStore } from '../../store/artifacts';
import { exitWith, type CliContext } from '../context';
import { CliError } from '../errors';
import { EXIT } from '../exit-codes';
import { homeOf, storeOptions } from '../home';
import { withStore } from '../store';

export function registerReportCommand(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  program
    .command('report <workflowId>')
    .description('a bakeoff\'s final report: the JSON on stdout, or --html to a file (local copy, else the shared artifact store)')
    .option('--html', 'the self-contained HTML page instead of the JSON')
    .option('--out <file>', 'write the report to this file and print its path (--html default: the reports directory)')
    .action(exitWith(ctx, async (workflowId: string, opts: { html?: boolean; out?: string }) => {
      const format: ReportFormat = opts.html ? 'html' : 'json';
      const o = storeOptions(ctx.env);
      const reportsDir = o.reportsDir ?? path.join(homeOf(ctx.env), 'reports');
      const jsonFile = reportJsonPath(reportsDir, workflowId);
      const local = format === 'json' ? jsonFile : htmlReportPath(jsonFile);
      let text: string;
      if (fs.existsSync(local)) text = fs.readFileSync(local, 'utf8');
      else {
        if (!o.databaseUrl) throw new CliError(`no ${format} report of ${workflowId} in ${reportsDir} (reports other machines wrote are in the artifact store: set DATABASE_URL)`);
        text = await withStore(ctx.env, async (db) => {
          const artifacts = await ArtifactStore.open(db, { cacheDir: path.join(homeOf(ctx.env), 'artifacts') });
          try {
            const stored = await readPublishedBakeoffReport(artifacts, workflowId, format);
            if (!stored) throw new CliError(`no ${format} report of ${workflowId} in ${reportsDir} nor in the artifact store (ref ${reportRefName(workflowId, format)})`);
            return stored.bytes.toString('utf8');
          } catch (err) {
            if (err instanceof ArtifactCorrupt || err instanceof ArtifactMissing) throw new CliError(`${format} report of ${workflowId}: ${err.message}`);
            throw err;
          }
        }, { command: 'report' });
      }
      const out = opts.out ? path.resolve(opts.out) : format === 'html' ? local : null;
      if (out === null) io.out(text.replace(/\n$/, ''));
      else {
        if (out !== local || !fs.existsSync(local)) writeReportFile(out, text);
        io.out(out);
      }
      return EXIT.OK;
    }));
}
