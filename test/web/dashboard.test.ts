import path from 'node:path';
import ExcelJS from 'exceljs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, dashboardSetup as setup, slowDownloadSetup, PAGE_WAIT_MS, WORKER } from '../support/dashboard.js';
import { onCleanup, waitFor } from '../support/tmp.js';

/** Debian's chromium (`apt-get install chromium`), driven by playwright-core. */
const CHROMIUM = process.env.DROVER_TEST_CHROMIUM ?? '/usr/bin/chromium';
const SECRET = 'Hunter2-very-secret-NVR-password';
const T = PAGE_WAIT_MS;

let browser: Browser;
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});
afterAll(async () => {
  await browser?.close();
});

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  onCleanup(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(T);
  return page;
}

async function signIn(page: Page, url: string, token = ADMIN): Promise<void> {
  await page.goto(url + '/');
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

describe('the dashboard in Chromium', () => {
  it('signs in with the admin token only: a wrong token and a worker token are refused; the cookie is http-only; a change needs the CSRF header', async () => {
    const { srv } = await setup('');
    const page = await newPage();
    await signIn(page, srv.url, 'not-the-token');
    await page.getByRole('alert').filter({ hasText: 'that token is not valid here' }).waitFor();
    await signIn(page, srv.url, WORKER);
    await page.getByRole('alert').filter({ hasText: 'a worker token cannot sign in' }).waitFor();
    expect(await page.getByRole('navigation', { name: 'Pages' }).count()).toBe(0);
    await signIn(page, srv.url, ADMIN);
    await page.getByRole('navigation', { name: 'Pages' }).waitFor();
    await page.locator('.tile-queued').waitFor();
    const cookie = (await page.context().cookies()).find((c) => c.name === 'drover_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(cookie?.value).not.toContain(ADMIN);
    // The page's script cannot read the cookie, and a change under it without the CSRF header is refused.
    expect(await page.evaluate(() => document.cookie)).toBe('');
    const forged = await page.evaluate(async () => {
      const r = await fetch('/api/v1/queues/nvr/pause', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      return { status: r.status, body: await r.text() };
    });
    expect(forged.status).toBe(403);
    expect(forged.body).toContain('x-drover-csrf');
    // Without a session, the API answers 401.
    expect((await fetch(`${srv.url}/api/v1/stats`)).status).toBe(401);
    await page.getByRole('button', { name: /Sign out/ }).click();
    await page.getByLabel('Token').waitFor();
    expect(await page.evaluate(async () => (await fetch('/api/v1/stats')).status)).toBe(401);
  });

  it('imports a spreadsheet: problems by row and column first, nothing created; then the jobs', async () => {
    const { dir, srv, api } = await setup(`templates:
  clip:
    argv: [/bin/true, "{camera}", "{day}"]
    params:
      day: { pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" }
`);
    const write = async (file: string, rows: string[][]) => {
      const wb = new ExcelJS.Workbook();
      const ws = wb.addWorksheet('cameras');
      for (const r of rows) ws.addRow(r);
      await wb.xlsx.writeFile(path.join(dir, file));
      return path.join(dir, file);
    };
    const bad = await write('cameras.xlsx', [['Camera', 'day'], ['101', '2026-12-01'], ['102', '1 Dec'], ['103', '']]);
    const page = await newPage();
    await signIn(page, srv.url);
    await page.getByRole('link', { name: 'Import' }).click();
    await page.getByLabel('File (.xlsx, .csv, .tsv, .jsonl)').setInputFiles(bad);
    await page.getByLabel('Template or kind').selectOption('template:clip');
    await page.getByLabel('Owner').fill('alice');
    await page.getByRole('button', { name: 'Check' }).click();
    const problems = page.getByTestId('import-errors');
    await problems.waitFor();
    const rows = await problems.locator('tbody tr').allInnerTexts();
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^3\s+day\s+cameras.xlsx row 3, column B \(day\): does not match \^\[0-9\]\{4\}/);
    expect(rows[1]).toMatch(/^4\s+day\s+cameras.xlsx row 4, column B \(day\): missing, required by template clip$/);
    expect(await page.getByRole('button', { name: /^Create/ }).isDisabled()).toBe(true);
    expect((await api<{ counts: Record<string, number> }>('GET', '/api/v1/jobs/counts')).counts.queued).toBe(0);

    const good = await write('cameras-fixed.xlsx', [['Camera', 'day'], ['101', '2026-12-01'], ['102', '2026-12-01'], ['103', '2026-12-02']]);
    await page.getByLabel('File (.xlsx, .csv, .tsv, .jsonl)').setInputFiles(good);
    await page.getByRole('button', { name: 'Check' }).click();
    await page.getByText('3 rows are valid; nothing created yet.').waitFor();
    await page.getByRole('button', { name: 'Create 3 jobs' }).click();
    await page.getByText(/Created 3 jobs, tagged/).waitFor();
    const listed = await api<{ jobs: Array<{ params: Record<string, string>; owner: string; template: string }> }>('GET', `/api/v1/jobs?tag=${encodeURIComponent('import:cameras-fixed.xlsx')}`);
    expect(listed.jobs.map((j) => [j.template, j.owner, j.params.camera, j.params.day])).toEqual([
      ['clip', 'alice', '101', '2026-12-01'],
      ['clip', 'alice', '102', '2026-12-01'],
      ['clip', 'alice', '103', '2026-12-02'],
    ]);
    // The tag links to those jobs in the table.
    await page.getByRole('link', { name: 'import:cameras-fixed.xlsx' }).click();
    await page.getByTestId('matching').filter({ hasText: '3 matching' }).waitFor();
  });

  it("shows a running download's bar moving, cancels it from its page, and drover jobs says canceled", async () => {
    const { srv, cli, id } = await slowDownloadSetup();
    const page = await newPage();
    await signIn(page, srv.url);
    const bar = page.locator(`[data-testid=running] [data-job="${id}"] [role=progressbar]`);
    const now = async () => Number((await bar.getAttribute('aria-valuenow')) ?? '-1');
    await waitFor(async () => (await now()) >= 1, T, 'the bar to show progress');
    const first = await now();
    await waitFor(async () => (await now()) > first, T, 'the bar to move');
    expect(await bar.innerText()).toMatch(/MiB of 64\.0 MiB · [\d.]+ (KiB|MiB)\/s/);

    await page.locator(`[data-job="${id}"] a`).first().click();
    await page.getByRole('heading', { name: new RegExp(id) }).waitFor();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('.job-head .state-canceled').waitFor();
    const listed = await cli('jobs', '--state', 'canceled');
    expect(listed.stdout).toMatch(new RegExp(`${id}\\s+canceled\\s+download`));
  });

  it('pauses a queue from the page: nothing of it is leased while the worker takes other work; resumed, it runs', async () => {
    const { srv, cli, api, startWorker } = await setup('');
    startWorker();
    expect((await cli('add', 'noop', '--queue', 'nvr', '--wait')).code).toBe(0);
    const page = await newPage();
    await signIn(page, srv.url);
    await page.getByRole('link', { name: 'Queues' }).click();
    const row = page.locator('[data-queue=nvr]');
    await row.getByRole('button', { name: 'Pause' }).click();
    await row.getByText(/^paused/).waitFor();
    const held = (await cli('add', 'noop', '--queue', 'nvr')).stdout.split(' ')[0] as string;
    // The worker is leasing: a job of another queue added after it runs to the end.
    expect((await cli('add', 'noop', '--wait')).code).toBe(0);
    const shown = await api<{ job: { state: string }; waiting?: string }>('GET', `/api/v1/jobs/${held}`);
    expect(shown.job.state).toBe('queued');
    expect(shown.waiting).toBe('queue nvr is paused (drover queue resume nvr)');
    await page.getByRole('link', { name: 'Jobs' }).click();
    await page.locator(`[data-job="${held}"]`).getByText('queue nvr is paused').waitFor();
    await page.getByRole('link', { name: 'Queues' }).click();
    await row.getByRole('button', { name: 'Resume' }).click();
    await waitFor(async () => (await api<{ job: { state: string } }>('GET', `/api/v1/jobs/${held}`)).job.state === 'succeeded', T, 'the held job to run');
  });

  it('never shows a secret param: not in the DOM, not in any answer the page loads, not by searching for it; the log tail shows it redacted', async () => {
    const { srv, cli, api, startWorker } = await setup(`templates:
  say:
    argv: [/bin/echo, "login with pw={password} on {camera}"]
    secrets: [password]
`);
    startWorker();
    const add = await cli('add', '--template', 'say', '--param', `password=${SECRET}`, '--param', 'camera=lobby', '--wait');
    expect(add.code).toBe(0);
    const id = add.stdout.split(/\s/)[0] as string;
    const page = await newPage();
    const bodies: string[] = [];
    page.on('response', async (r) => {
      if ((r.headers()['content-type'] ?? '').includes('event-stream')) return;
      bodies.push(await r.text().catch(() => ''));
    });
    const events: string[] = [];
    await signIn(page, srv.url);
    await page.locator('.tile-succeeded').waitFor();
    await page.goto(`${srv.url}/#/job/${id}`);
    await page.getByTestId('log').getByText('login with pw=*** on lobby').waitFor();
    await page.getByTestId('params').getByText('***').waitFor();
    // A search on the secret finds nothing; on another param the job.
    await page.goto(`${srv.url}/#/jobs?q=${SECRET.slice(3, 15)}`);
    await page.getByText('No jobs match.').waitFor();
    await page.goto(`${srv.url}/#/jobs?q=lobby`);
    await page.locator(`[data-job="${id}"]`).waitFor();
    // What the live stream says while a job runs.
    const stream = await fetch(`${srv.url}/api/v1/events`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const reader = stream.body!.getReader();
    const readAll = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        events.push(Buffer.from(value).toString());
      }
    })();
    await api('POST', '/api/v1/jobs', { template: 'say', params: { password: SECRET, camera: 'garage' } });
    await waitFor(() => events.join('').includes('"state":"succeeded"'), T, 'the second job to end in the event stream');
    await reader.cancel();
    await readAll.catch(() => undefined);
    for (const p of ['#/', '#/jobs', '#/workers', '#/queues']) {
      await page.goto(`${srv.url}/${p}`);
      await page.getByRole('navigation', { name: 'Pages' }).waitFor();
      expect(await page.content()).not.toContain(SECRET);
    }
    expect(bodies.length).toBeGreaterThan(10);
    for (const b of [...bodies, ...events]) expect(b).not.toContain(SECRET);
  });

  it('keeps 200 running jobs live without re-rendering the list: each progress event moves its own bar', async () => {
    const { srv, api } = await setup('');
    await api('POST', '/api/v1/jobs', { jobs: Array.from({ length: 200 }, (_, i) => ({ kind: 'noop', params: { echo: `job ${i}` } })) });
    // A worker speaking the protocol over HTTP: it holds 200 leases and reports progress in rounds.
    const wh = { authorization: `Bearer ${WORKER}`, 'content-type': 'application/json' };
    const lease = await fetch(`${srv.url}/api/v1/lease`, { method: 'POST', headers: wh, body: JSON.stringify({ worker: { name: 'many', host: 'h', kinds: ['noop'], templates: [], slots: 200, running: 0, version: 't' }, limit: 200 }) });
    const held = ((await lease.json()) as { jobs: Array<{ id: string; lease: { token: string } }> }).jobs;
    expect(held).toHaveLength(200);
    const report = (round: number) =>
      fetch(`${srv.url}/api/v1/heartbeat`, { method: 'POST', headers: wh, body: JSON.stringify({ worker: { name: 'many', running: 200 }, jobs: held.map((j) => ({ id: j.id, token: j.lease.token, progress: { bytes: round * 1_000_000, total: 100_000_000 } })) }) });
    await report(1);
    const page = await newPage();
    await signIn(page, srv.url);
    const items = page.locator('[data-testid=running] > li');
    await waitFor(async () => (await items.count()) === 200, T, '200 running jobs listed');
    // Watch the list: a re-render of it would replace or reorder its items.
    await page.evaluate(() => {
      const ul = document.querySelector('[data-testid=running]') as HTMLElement;
      const w = window as unknown as { firstItems: Element[]; listMutations: number; barChanges: number };
      w.firstItems = [...ul.children];
      w.listMutations = 0;
      w.barChanges = 0;
      new MutationObserver((ms) => (w.listMutations += ms.length)).observe(ul, { childList: true });
      new MutationObserver((ms) => (w.barChanges += ms.filter((m) => m.attributeName === 'aria-valuenow').length)).observe(ul, { subtree: true, attributes: true });
    });
    for (let round = 2; round <= 6; round++) {
      await report(round);
      await page.waitForFunction((pct) => [...document.querySelectorAll('[data-testid=running] [role=progressbar]')].every((b) => b.getAttribute('aria-valuenow') === String(pct)), round, { timeout: T });
    }
    const seen = await page.evaluate(() => {
      const w = window as unknown as { firstItems: Element[]; listMutations: number; barChanges: number };
      const ul = document.querySelector('[data-testid=running]') as HTMLElement;
      return { same: w.firstItems.every((el, i) => ul.children[i] === el), listMutations: w.listMutations, barChanges: w.barChanges };
    });
    expect(seen).toEqual({ same: true, listMutations: 0, barChanges: 5 * 200 });
  });

  it('fits a phone: every page in one column, nothing wider than the screen but the tables, which scroll inside their card', async () => {
    const { srv, api } = await setup('');
    await api('POST', '/api/v1/jobs', { jobs: Array.from({ length: 30 }, (_, i) => ({ kind: 'noop', owner: `owner-${i % 4}`, queue: `queue-${i % 3}` })) });
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    onCleanup(() => context.close());
    const page = await context.newPage();
    page.setDefaultTimeout(T);
    await signIn(page, srv.url);
    await page.getByRole('navigation', { name: 'Pages' }).waitFor();
    for (const p of ['#/', '#/jobs', '#/workers', '#/queues', '#/import']) {
      await page.goto(`${srv.url}/${p}`);
      await page.locator('main > div, main > section').first().waitFor();
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(width, `${p} is ${width} px wide on a 390 px screen`).toBeLessThanOrEqual(390);
    }
  });

  it('sorts the table by finish time: finished jobs only, the latest first, then the earliest', async () => {
    const { srv, api } = await setup('');
    const made = await api<{ jobs: Array<{ id: string }> }>('POST', '/api/v1/jobs', { jobs: Array.from({ length: 4 }, () => ({ kind: 'noop' })) });
    const [a, b, c, queued] = made.jobs.map((j) => j.id) as [string, string, string, string];
    // Ended in another order than made: b, then c, then a. The fourth stays queued.
    for (const id of [b, c, a]) {
      await api('POST', `/api/v1/jobs/${id}/cancel`, {});
      const ended = (await api<{ job: { finishedAt: number | null } }>('GET', `/api/v1/jobs/${id}`)).job.finishedAt;
      expect(ended).toBeGreaterThan(0);
      await waitFor(() => Date.now() > ended!, T, 'the next millisecond');
    }
    const page = await newPage();
    await signIn(page, srv.url);
    await page.getByRole('navigation', { name: 'Pages' }).waitFor();
    await page.goto(`${srv.url}/#/jobs`);
    const rows = page.locator('.jobs-table tbody tr');
    await waitFor(async () => (await rows.count()) === 4, T, 'the four jobs');
    await page.getByRole('button', { name: 'Sort by finish time' }).click();
    const order = async () => (await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-job'))));
    await waitFor(async () => (await order()).join() === [a, c, b].join(), T, 'the ended jobs, the latest first');
    expect(await order()).not.toContain(queued);
    for (const s of ['succeeded', 'failed', 'timed out', 'canceled']) expect(await page.getByRole('checkbox', { name: s, exact: true }).isChecked()).toBe(true);
    expect(await page.getByRole('checkbox', { name: 'queued', exact: true }).isChecked()).toBe(false);
    await page.getByTestId('matching').filter({ hasText: '3 matching' }).waitFor();
    await page.getByRole('button', { name: 'Sort by finish time' }).click();
    await waitFor(async () => (await order()).join() === [b, c, a].join(), T, 'the earliest first');
  });

  it('cancels chosen rows, then every job matching the filter, past the first page', async () => {
    const { srv, api, cli } = await setup('');
    // No worker: the jobs stay queued.
    await api('POST', '/api/v1/jobs', { jobs: Array.from({ length: 70 }, (_, i) => ({ kind: 'noop', owner: i < 60 ? 'alice' : 'bob', params: { echo: `cam ${i}` } })) });
    const page = await newPage();
    page.on('dialog', (d) => void d.accept());
    await signIn(page, srv.url);
    await page.getByRole('navigation', { name: 'Pages' }).waitFor();
    await page.goto(`${srv.url}/#/jobs?owner=alice`);
    await page.getByTestId('matching').filter({ hasText: '60 matching' }).waitFor();
    const rows = page.locator('.jobs-table tbody tr');
    await waitFor(async () => (await rows.count()) === 50, T, 'the first page of 50');
    const first = await rows.nth(0).getAttribute('data-job');
    const second = await rows.nth(1).getAttribute('data-job');
    await rows.nth(0).getByRole('checkbox').check();
    await rows.nth(1).getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await page.getByText('Canceled 2 of 2').waitFor();
    for (const id of [first, second]) expect((await api<{ job: { state: string } }>('GET', `/api/v1/jobs/${id}`)).job.state).toBe('canceled');
    // Every queued job of alice: the 58 left, of which 8 are past this page.
    await page.getByRole('checkbox', { name: 'queued' }).check();
    await page.getByTestId('matching').filter({ hasText: '58 matching' }).waitFor();
    await page.getByRole('checkbox', { name: 'Select this page' }).check();
    await page.getByRole('button', { name: 'Select all 58 matching' }).click();
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await page.getByText('Canceled 58 of 58').waitFor();
    const counts = (await api<{ counts: Record<string, number> }>('GET', '/api/v1/jobs/counts')).counts;
    expect([counts.canceled, counts.queued]).toEqual([60, 10]);
    expect((await cli('jobs', '--owner', 'bob', '--state', 'queued')).stdout.match(/queued/g)?.length).toBeGreaterThanOrEqual(10);
  });
});
