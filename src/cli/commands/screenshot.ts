// `bakeoff screenshot ID|URL`: a PNG of a bakeoff's Web UI page with headless chromium. Plain
// `chromium --headless --screenshot` shoots the empty page before the UI has rendered, and with
// `--virtual-time-budget` it never returns on a running workflow's page (the UI keeps polling, so
// virtual time never runs out). This waits for what it came for — the workflow id on the page —
// for at most --timeout seconds, then shoots. `--list` shoots the bakeoffs list instead, with the
// outcome and phase columns (web-ui-list.ts): there every finished bakeoff otherwise reads Completed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { exitWith, targetOf, type CliContext } from '../context';
import { CliError } from '../errors';
import { EXIT } from '../exit-codes';
import { workflowUrl } from '../target';
import { BAKEOFFS_QUERY, listColumnsStorage, UI_COLUMNS_STORAGE_KEY, workflowsListUrl } from '../web-ui-list';

const DEFAULT_CHROMIUM = '/usr/bin/chromium';
/** A row of the UI's workflows table (UI 2.50's test id), or its empty state: the list has rendered. */
const LIST_ROW = '[data-testid="workflows-summary-configurable-table-row"]';
const LIST_EMPTY = 'No Workflows Found';

/** Runs in the page before the UI's own scripts (serialized by playwright; typed without the DOM lib). */
const seedStorage = ([key, value]: [string, string]): void => {
  const storage = (globalThis as unknown as { localStorage: { getItem(k: string): string | null; setItem(k: string, v: string): void } }).localStorage;
  if (!storage.getItem(key)) storage.setItem(key, value);
};

export function registerScreenshotCommand(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  program
    .command('screenshot [workflowIdOrUrl]')
    .description('a PNG of a bakeoff\'s Web UI page, or with --list of the bakeoffs list with its outcome column (headless chromium; waits for the page to render, at most --timeout)')
    .option('--out <file>', 'where to write the PNG', 'bakeoff-ui.png')
    .option('--timeout <seconds>', 'give up waiting for the page after this long', '30')
    .option('--chromium <path>', `chromium binary (default: $BAKEOFF_CHROMIUM or ${DEFAULT_CHROMIUM})`)
    .option('--list', 'the workflows list with the BakeoffOutcome and BakeoffPhase columns instead of one bakeoff\'s page')
    .option('--query <visibility query>', `with --list: which workflows (default: ${BAKEOFFS_QUERY})`)
    .action(exitWith(ctx, async (ref: string | undefined, opts: { out: string; timeout: string; chromium?: string; list?: boolean; query?: string }, cmd: Command) => {
      const timeoutMs = Number(opts.timeout) * 1000;
      if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new CliError(`--timeout ${JSON.stringify(opts.timeout)}: must be a positive number of seconds`);
      if (opts.list && ref !== undefined) throw new CliError(`--list shoots the workflows list: give no workflow id (got ${JSON.stringify(ref)}), or drop --list`);
      if (!opts.list && opts.query !== undefined) throw new CliError('--query filters the list: use it with --list');
      if (!opts.list && ref === undefined) throw new CliError('give a workflow id or a Web UI URL, or --list for the bakeoffs list');
      const target = targetOf(cmd, ctx);
      const isUrl = ref !== undefined && /^https?:\/\//.test(ref);
      const url = ref === undefined
        ? target.uiUrl && workflowsListUrl(target.uiUrl, target.namespace, opts.query ?? BAKEOFFS_QUERY)
        : isUrl ? ref : workflowUrl(target, ref);
      if (!url) throw new CliError('the Web UI address is not known: set BAKEOFF_UI_URL, or give the page URL');
      const executablePath = opts.chromium ?? ctx.env.BAKEOFF_CHROMIUM ?? DEFAULT_CHROMIUM;
      if (!fs.existsSync(executablePath)) throw new CliError(`no chromium at ${executablePath}: install it (bash scripts/provision/browser.sh) or pass --chromium PATH`);
      let playwright: typeof import('playwright-core');
      try {
        playwright = await import('playwright-core');
      } catch {
        throw new CliError('playwright-core is not installed: run `npm install` in the checkout (it is a dev dependency)');
      }
      const browser = await playwright.chromium.launch({
        executablePath,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      try {
        const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
        // The UI keeps its column choice in the browser; a fresh one gets the outcome columns.
        await page.addInitScript(seedStorage, [UI_COLUMNS_STORAGE_KEY, listColumnsStorage(target.namespace)] as [string, string]);
        const deadline = Date.now() + timeoutMs;
        try {
          await page.goto(url, { waitUntil: 'domcontentloaded', timeout: timeoutMs });
        } catch (err) {
          throw new CliError(`cannot open ${url}: ${(err as Error).message.split('\n')[0]}`);
        }
        // The id in the page's heading means the workflow has rendered, a table row (or its empty
        // state) that the list has; a bare URL gets the load event.
        const expected = ref === undefined ? 'the workflows list' : isUrl ? null : ref;
        let shown = true;
        try {
          if (ref === undefined) await page.locator(LIST_ROW).or(page.getByText(LIST_EMPTY)).first().waitFor({ timeout: Math.max(1, deadline - Date.now()) });
          else if (expected) await page.getByText(expected).first().waitFor({ timeout: Math.max(1, deadline - Date.now()) });
          else await page.waitForLoadState('load', { timeout: Math.max(1, deadline - Date.now()) });
          await page.waitForTimeout(Math.min(1000, Math.max(0, deadline - Date.now()))); // let the tables fill in
        } catch {
          shown = false;
        }
        fs.mkdirSync(path.dirname(path.resolve(opts.out)), { recursive: true });
        await page.screenshot({ path: opts.out });
        if (!shown) throw new CliError(`${url} did not show ${expected ?? 'a loaded page'} within ${opts.timeout} s; saved what it showed to ${opts.out}`);
        io.out(`${opts.out}: ${url}`);
        return EXIT.OK;
      } finally {
        await browser.close().catch(() => undefined);
      }
    }));
}
