// Issue 15 item 5: the Web UI's workflows list showed every finished bakeoff as a green "Completed",
// promoted, rolled back and failed alike. Three bakeoffs end three ways; the list opened through the
// link docs/operations.md gives (with the columns `bakeoff screenshot --list` and the doc set) must
// show each one's outcome in its BakeoffOutcome cell, the link must save the view, and the workflow
// page (User Metadata → Current Details) must say the stage while it runs and the outcome after. Real dev server with its Web UI, the real
// workflow bundle and platform activities on PGlite, Debian's chromium; the data plane is the workflow
// tests' scripted fixture (test/fixtures/data-plane.ts) because the UI, not retrieval, is under test
// and it lets one bakeoff fail its gates in seconds. Screenshots: test-artifacts/ui-outcomes/.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { startBakeoff } from '../../src/client/bakeoff';
import { BAKEOFF_LIST_COLUMNS, BAKEOFF_VIEW_NAME, BAKEOFFS_QUERY, listColumnsStorage, UI_COLUMNS_STORAGE_KEY, workflowsListUrl } from '../../src/cli/web-ui-list';
import { repoRoot } from '../../src/platform/paths';
import { promoteSignal, rollbackSignal } from '../../src/workflows/messages';
import { createFixtureDataPlane, HEALTHY, type FixtureDataPlane, type FixtureScript } from '../fixtures/data-plane';
import { bakeoffInProcess } from '../support/cli';
import { bakeoffInput, waitForStatus } from '../workflows/harness';
import { CHROMIUM, haveChromium, startUiRig, type UiRig } from './ui-rig';

const ARTIFACTS = path.join(repoRoot, 'test-artifacts', 'ui-outcomes');
const ROW = '[data-testid="workflows-summary-configurable-table-row"]';
/** Worse f1 and p95 than the baseline: the offline gates fail and the bakeoff ends 'failed'. */
const WORSE: FixtureScript = { ...HEALTHY, candidate: { ...HEALTHY.candidate, f1: 0.5, p95TotalMs: 40 } };

if (!haveChromium) process.stderr.write(`\n! SKIPPED test/ui/outcome-list.test.ts: no chromium at ${CHROMIUM}\n\n`);
const suite = haveChromium ? describe : describe.skip;

/** Runs in the page before the UI's scripts (serialized by playwright; typed without the DOM lib). */
const seedStorage = ([key, value]: [string, string]): void => {
  (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage.setItem(key, value);
};

suite('Web UI list: each bakeoff\'s outcome', () => {
  let rig: UiRig;
  let uiUrl: string;
  let dataPlane: FixtureDataPlane;

  beforeAll(async () => {
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    rig = await startUiRig({
      name: 'outcomes',
      lanes: ['out_failed', 'out_promoted', 'out_rolled'],
      dataPlane: (db) => (dataPlane = createFixtureDataPlane(db, WORSE)),
      reportsDir: true,
      browser: 'launch',
    });
    uiUrl = rig.uiUrl;
  }, 150_000);

  afterAll(async () => {
    await rig?.close();
  });

  /** The text of each listed workflow's cell under `column`, by workflow id. */
  async function cellsUnder(page: Page, column: string): Promise<Map<string, string>> {
    const headers = (await page.locator('thead th').allInnerTexts()).map((t) => t.trim());
    const at = headers.indexOf(column);
    if (at < 0) throw new Error(`no ${column} column in the list; columns: ${JSON.stringify(headers)}`);
    const cells = new Map<string, string>();
    for (const row of await page.locator(ROW).all()) {
      const tds = (await row.locator('td').allInnerTexts()).map((t) => t.trim());
      const id = tds.find((t) => t.startsWith('bakeoff-out-'));
      if (id) cells.set(id, tds[at] ?? '');
    }
    return cells;
  }

  test('the list shows promoted, rolled-back and failed in the BakeoffOutcome column; the link saves the view; the page shows the stage, then the outcome', async () => {
    const t0 = Date.now();
    const tag = randomBytes(3).toString('hex');
    const ids = { failed: `bakeoff-out-failed-${tag}`, promoted: `bakeoff-out-promoted-${tag}`, rolledBack: `bakeoff-out-rolled-${tag}` };
    const context = await rig.browser!.newContext({ viewport: { width: 1600, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    // The documented columns, as *Configure Columns* stores them in the browser.
    await page.addInitScript(seedStorage, [UI_COLUMNS_STORAGE_KEY, listColumnsStorage('default')] as [string, string]);
    /** Current Details, on the User Metadata tab; the UI renders its markdown in an iframe. */
    const currentDetails = (id: string, runId: string) => {
      const url = `${uiUrl}/namespaces/default/workflows/${id}/${runId}/user-metadata`;
      return { url, frame: page.frameLocator('#user-metadata-current-details') };
    };
    try {
      // 1. Failed at the offline gates (the fixture's script is the plane's, so this one runs first).
      const failed = await startBakeoff(rig.client, bakeoffInput('out_failed', `v450_f${tag}`), { taskQueue: rig.taskQueue, workflowId: ids.failed });
      expect((await failed.result()).outcome).toBe('failed');

      // 2. Two canaries: one promoted by an operator (promote --full), one rolled back by one.
      dataPlane.script = HEALTHY;
      const canaryInput = (lane: string, v: string) => bakeoffInput(lane, v, { ramp: [{ percent: 10, soak: '20m' }], checkInterval: '10m' });
      const promoted = await startBakeoff(rig.client, canaryInput('out_promoted', `v450_p${tag}`), { taskQueue: rig.taskQueue, workflowId: ids.promoted });
      const rolled = await startBakeoff(rig.client, canaryInput('out_rolled', `v450_r${tag}`), { taskQueue: rig.taskQueue, workflowId: ids.rolledBack });
      await Promise.all([promoted, rolled].map((h) => waitForStatus(h, (s) => s.phase === 'canary', 60_000)));
      await promoted.signal(promoteSignal, { by: 'oncall-ui', full: true });

      // While it runs, the workflow page says which stage it is in.
      const running = currentDetails(ids.rolledBack, rolled.firstExecutionRunId);
      await page.goto(running.url);
      await running.frame.getByText('Stage 1 of 1 · 10 % of traffic to the candidate', { exact: false }).waitFor();
      // Next to it, the Summary set at start says what this bakeoff is (src/client/ui-summary.ts).
      await page.frameLocator('#user-metadata-summary').getByText(`(v450_r${tag}) on lane out_rolled, requested by test`, { exact: false }).waitFor();
      await page.frameLocator('#user-metadata-details').getByText('offline gates → 10 % for 20m → promote', { exact: false }).waitFor();
      await page.screenshot({ path: path.join(ARTIFACTS, 'running-current-details.png') });

      await rolled.signal(rollbackSignal, { by: 'oncall-ui', reason: 'outcome-list test' });
      expect((await promoted.result()).outcome).toBe('promoted');
      expect((await rolled.result()).outcome).toBe('rolled-back');

      // 3. `bakeoff screenshot --list`: the list with the outcome columns, as a PNG.
      const png = path.join(ARTIFACTS, 'bakeoffs-list.png');
      const env = { PATH: process.env.PATH, HOME: process.env.HOME, TEMPORAL_ADDRESS: rig.server.address, BAKEOFF_UI_URL: uiUrl, BAKEOFF_CHROMIUM: CHROMIUM };
      const shot = await bakeoffInProcess(['screenshot', '--list', '--out', png, '--timeout', '40'], env);
      expect(shot.stderr).toBe('');
      expect(shot.code).toBe(0);
      expect(shot.stdout.trim()).toBe(`${png}: ${workflowsListUrl(uiUrl, 'default', BAKEOFFS_QUERY)}`);
      expect(fs.statSync(png).size).toBeGreaterThan(20_000);

      // 4. The documented link (filter + saved view) with the documented columns: each bakeoff's
      // BakeoffOutcome cell says how it ended. Visibility lags completion by a moment: reload.
      await page.goto(workflowsListUrl(uiUrl, 'default', BAKEOFFS_QUERY, BAKEOFF_VIEW_NAME));
      const want = new Map([[ids.failed, 'failed'], [ids.promoted, 'promoted'], [ids.rolledBack, 'rolled-back']]);
      let outcomes = new Map<string, string>();
      for (const deadline = Date.now() + 30_000; ; ) {
        await page.locator(ROW).first().waitFor();
        outcomes = await cellsUnder(page, 'BakeoffOutcome');
        if ([...want].every(([id, o]) => outcomes.get(id) === o) || Date.now() > deadline) break;
        await page.waitForTimeout(1000);
        await page.reload();
      }
      await page.screenshot({ path: path.join(ARTIFACTS, 'bakeoffs-view.png') });
      expect(Object.fromEntries(outcomes)).toEqual(Object.fromEntries(want));
      // The Status column still says Completed for all three: the outcome column is what tells them apart.
      expect(new Set((await cellsUnder(page, 'Status')).values())).toEqual(new Set(['Completed']));
      const headers = (await page.locator('thead th').allInnerTexts()).map((t) => t.trim());
      expect(headers).toEqual(expect.arrayContaining([...BAKEOFF_LIST_COLUMNS]));
      // The link saved the view under its name (UI 2.50 keeps saved views in localStorage).
      const saved = await page.evaluate(() => (globalThis as unknown as { localStorage: { getItem(k: string): string | null } }).localStorage.getItem('saved-workflow-queries'));
      expect(JSON.parse(saved ?? '{}')).toMatchObject({ default: [{ name: BAKEOFF_VIEW_NAME, query: BAKEOFFS_QUERY }] });
      await page.getByText(BAKEOFF_VIEW_NAME, { exact: true }).first().waitFor();

      // 5. Once it has ended, the same page says the outcome in words.
      const ended = currentDetails(ids.rolledBack, rolled.firstExecutionRunId);
      await page.goto(ended.url);
      await ended.frame.getByText('Rolled back', { exact: false }).first().waitFor();
      expect(await ended.frame.locator('body').innerText()).toContain('outcome-list test (by oncall-ui');
      await page.screenshot({ path: path.join(ARTIFACTS, 'rolled-back-current-details.png') });
    } catch (err) {
      await page.screenshot({ path: path.join(ARTIFACTS, 'FAILED.png') }).catch(() => undefined);
      throw err;
    } finally {
      await context.close();
    }
    process.stderr.write(`[ui-outcomes] ${Date.now() - t0} ms\n`);
  }, 150_000);
});
