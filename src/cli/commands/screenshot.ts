// `bakeoff screenshot ID|URL`: a PNG of a bakeoff's Web UI page with headless chromium. Plain
// `chromium --headless --screenshot` shoots the empty page before the UI has rendered, and with
// `--virtual-time-budget` it never returns on a running workflow's page (the UI keeps polling, so
// virtual time never runs out). This waits for what it came for — the workflow id on the page —
// for at most --timeout seconds, then shoots.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { exitWith, targetOf, type CliContext } from '../context';
import { CliError } from '../errors';
import { EXIT } from '../exit-codes';
import { workflowUrl } from '../target';

const DEFAULT_CHROMIUM = '/usr/bin/chromium';

export function registerScreenshotCommand(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  program
    .command('screenshot <workflowIdOrUrl>')
    .description('a PNG of a bakeoff\'s Web UI page (headless chromium; waits for the page to show the workflow, at most --timeout)')
    .option('--out <file>', 'where to write the PNG', 'bakeoff-ui.png')
    .option('--timeout <seconds>', 'give up waiting for the page after this long', '30')
    .option('--chromium <path>', `chromium binary (default: $BAKEOFF_CHROMIUM or ${DEFAULT_CHROMIUM})`)
    .action(exitWith(ctx, async (ref: string, opts: { out: string; timeout: string; chromium?: string }, cmd: Command) => {
      const timeoutMs = Number(opts.timeout) * 1000;
      if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new CliError(`--timeout ${JSON.stringify(opts.timeout)}: must be a positive number of seconds`);
      const isUrl = /^https?:\/\//.test(ref);
      const url = isUrl ? ref : workflowUrl(targetOf(cmd, ctx), ref);
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
        const deadline = Date.now() + timeoutMs;
        try {
          await page.goto(url, { waitUntil: 'domcontentloaded', timeout: timeoutMs });
        } catch (err) {
          throw new CliError(`cannot open ${url}: ${(err as Error).message.split('\n')[0]}`);
        }
        // The id in the page's heading means the workflow has rendered; a bare URL gets the load event.
        const expected = isUrl ? null : ref;
        let shown = true;
        try {
          if (expected) await page.getByText(expected).first().waitFor({ timeout: Math.max(1, deadline - Date.now()) });
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
