import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, dashboardSetup as setup, slowDownloadSetup, PAGE_WAIT_MS as T, WORKER } from '../support/dashboard.js';
import { onCleanup, waitFor } from '../support/tmp.js';

/**
 * Debian's Firefox ESR (`apt-get install firefox-esr`), driven by puppeteer-core over WebDriver
 * BiDi: playwright-core drives only its own patched Firefox builds, puppeteer the stock one.
 */
const FIREFOX = process.env.DROVER_TEST_FIREFOX ?? '/usr/bin/firefox-esr';
const SECRET = 'Hunter2-very-secret-NVR-password';

let browser: Browser;
beforeAll(async () => {
  browser = await puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX, headless: true });
});
afterAll(async () => {
  await browser?.close();
});

/** A page in a context of its own (its own cookies), `width` CSS pixels wide. */
async function newPage(width = 1280, height = 900): Promise<Page> {
  const context = await browser.createBrowserContext();
  onCleanup(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(T);
  await page.setViewport({ width, height });
  return page;
}

/** Waits until an element matching `selector` shows `text` (a substring of its text). */
async function waitText(page: Page, selector: string, text: string): Promise<void> {
  await page.waitForFunction((s, t) => [...document.querySelectorAll(s)].some((el) => (el.textContent ?? '').includes(t)), { timeout: T }, selector, text);
}

/** Clicks the first element matching `selector` whose text is exactly `text`. */
async function clickText(page: Page, selector: string, text: string): Promise<void> {
  const handle = await page.waitForFunction((s, t) => [...document.querySelectorAll(s)].find((el) => (el.textContent ?? '').trim() === t), { timeout: T }, selector, text);
  await (handle as unknown as { click(): Promise<void> }).click();
}

async function signIn(page: Page, url: string, token = ADMIN): Promise<void> {
  await page.goto(url + '/');
  await page.waitForSelector('form.signin input[name=token]');
  await page.type('form.signin input[name=token]', token);
  await page.click('form.signin button[type=submit]');
}

describe('the dashboard in Firefox', () => {
  it('signs in with the admin token only, behind an http-only cookie the page cannot read', async () => {
    const { srv } = await setup('');
    const page = await newPage();
    await signIn(page, srv.url, 'not-the-token');
    await waitText(page, '[role=alert]', 'that token is not valid here');
    await signIn(page, srv.url, WORKER);
    await waitText(page, '[role=alert]', 'a worker token cannot sign in');
    expect(await page.$('nav[aria-label=Pages]')).toBeNull();
    await signIn(page, srv.url, ADMIN);
    await page.waitForSelector('nav[aria-label=Pages]');
    await page.waitForSelector('.tile-queued');
    expect(await page.evaluate(() => document.cookie)).toBe('');
    const forged = await page.evaluate(async () => (await fetch('/api/v1/queues/nvr/pause', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status);
    expect(forged).toBe(403);
  });

  it("moves a running download's bar live, cancels it from its page, and drover jobs says canceled", async () => {
    const { srv, cli, id } = await slowDownloadSetup();
    const page = await newPage();
    await signIn(page, srv.url);
    const bar = `[data-testid=running] [data-job="${id}"] [role=progressbar]`;
    const now = async () => Number((await page.$eval(bar, (el) => el.getAttribute('aria-valuenow')).catch(() => null)) ?? '-1');
    await waitFor(async () => (await now()) >= 1, T, 'the bar to show progress');
    const first = await now();
    await waitFor(async () => (await now()) > first, T, 'the bar to move');
    expect(await page.$eval(bar, (el) => (el as HTMLElement).innerText)).toMatch(/MiB of 64\.0 MiB · [\d.]+ (KiB|MiB)\/s/);

    await page.click(`[data-job="${id}"] a`);
    await waitText(page, 'h2, h1', id);
    await clickText(page, '.job-head button', 'Cancel');
    await page.waitForSelector('.job-head .state-canceled');
    expect((await cli('jobs', '--state', 'canceled')).stdout).toMatch(new RegExp(`${id}\\s+canceled\\s+download`));
  });

  it('never shows a secret param: not in the DOM, not by searching for it; the log tail shows it redacted', async () => {
    const { srv, cli, startWorker } = await setup(`templates:\n  say:\n    argv: [/bin/echo, "login with pw={password} on {camera}"]\n    secrets: [password]\n`);
    startWorker();
    const add = await cli('add', '--template', 'say', '--param', `password=${SECRET}`, '--param', 'camera=lobby', '--wait');
    expect(add.code).toBe(0);
    const id = add.stdout.split(/\s/)[0] as string;
    const page = await newPage();
    await signIn(page, srv.url);
    await page.waitForSelector('.tile-succeeded');
    await page.goto(`${srv.url}/#/job/${id}`);
    await waitText(page, '[data-testid=log]', 'login with pw=*** on lobby');
    await waitText(page, '[data-testid=params]', '***');
    expect(await page.content()).not.toContain(SECRET);
    await page.goto(`${srv.url}/#/jobs?q=${SECRET.slice(3, 15)}`);
    await waitText(page, 'main', 'No jobs match.');
    await page.goto(`${srv.url}/#/jobs?q=lobby`);
    await page.waitForSelector(`[data-job="${id}"]`);
    expect(await page.content()).not.toContain(SECRET);
  });

  it('fits a phone: every page in one column, nothing wider than the screen', async () => {
    const { srv, api } = await setup('');
    await api('POST', '/api/v1/jobs', { jobs: Array.from({ length: 30 }, (_, i) => ({ kind: 'noop', owner: `owner-${i % 4}`, queue: `queue-${i % 3}` })) });
    const page = await newPage(390, 844);
    await signIn(page, srv.url);
    await page.waitForSelector('nav[aria-label=Pages]');
    for (const p of ['#/', '#/jobs', '#/workers', '#/queues', '#/import']) {
      await page.goto(`${srv.url}/${p}`);
      await page.waitForSelector('main > div, main > section');
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(width, `${p} is ${width} px wide on a 390 px screen`).toBeLessThanOrEqual(390);
    }
  });
});
