import fs from 'node:fs';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { runDrover, spawnDrover, startServer, stderrBeyondNoWorker, writeConfig } from '../support/drover.js';
import { tempDir } from '../support/tmp.js';

const FAKE = path.resolve(import.meta.dirname, '../fixtures/fake-hikload.mjs');

function config(extra = ''): string {
  return `
server:
  lease_ttl: 3s
  heartbeat_interval: 500ms
templates:
  hikload:
    argv: [${JSON.stringify(process.execPath)}, ${JSON.stringify(FAKE)}, "--server={server}", "--user={user}", "--password={password}", "--cameras={cameras}", --downloads, "{outdir}"]
    secrets: [password]
    outdir: "{server}_{id}"
    concurrency: { key: "{server}", limit: 2 }
    env: { JOB_ID: "{id}" }
${extra}`;
}

async function writeSheet(file: string, rows: Array<[string, string, string, string]>): Promise<void> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('tasks');
  ws.addRow(['server', 'user', 'password', 'cameras']);
  for (const r of rows) ws.addRow(r);
  await wb.xlsx.writeFile(file);
}

describe('the spreadsheet scenario (row 1)', () => {
  it('imports 40 tasks and runs them on 2 workers x 2 slots, with passwords never shown', async () => {
    const dir = tempDir();
    const ledger = path.join(dir, 'ledger.txt');
    const keyDir = path.join(dir, 'keys');
    writeConfig(dir, config());
    const srv = await startServer(dir);
    const env = { LEDGER: ledger, KEY_DIR: keyDir, SLEEP_MS: '150' };
    const workers = ['w1', 'w2'].map((name) => spawnDrover(['worker', '--server', srv.url, '--concurrency', '2', '--name', name], { cwd: dir, env }));

    const rows: Array<[string, string, string, string]> = [];
    // Rows grouped by NVR, so 4 free slots would take 4 jobs of one NVR without its limit of 2.
    for (let i = 0; i < 40; i++) rows.push([`10.0.${Math.floor(i / 8)}.1`, 'admin', `S3cret-pw-${i}!`, `${101 + (i % 3) * 100},${201 + (i % 3) * 100}`]);
    const sheet = path.join(dir, 'cameras.xlsx');
    await writeSheet(sheet, rows);

    const imp = await runDrover(['import', sheet, '--template', 'hikload', '--owner', 'ops', '--server', srv.url], { cwd: dir });
    expect(stderrBeyondNoWorker(imp.stderr)).toBe('');
    expect(imp.code).toBe(0);
    expect(imp.stdout).toMatch(/created 40 jobs/);

    const wait = await runDrover(['wait', '--server', srv.url, '--interval', '200'], { cwd: dir, timeoutMs: 120_000 });
    expect(wait.code).toBe(0);

    const list = await runDrover(['jobs', '--json', '--all', '--server', srv.url], { cwd: dir });
    const jobs = list.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(jobs).toHaveLength(40);
    expect(jobs.every((j: { state: string }) => j.state === 'succeeded')).toBe(true);
    // Both workers took part.
    const ledgerText = fs.readFileSync(ledger, 'utf8');
    const done = ledgerText.split('\n').filter((l) => l.startsWith('done '));
    expect(done).toHaveLength(40);
    // Per-server limit of 2 never exceeded.
    const active = ledgerText.split('\n').filter((l) => l.startsWith('active ')).map((l) => Number(l.split(' ')[2]));
    expect(Math.max(...active)).toBe(2);
    // Each job wrote into its own output directory.
    const outRoot = path.join(dir, 'downloads');
    const outDirs = fs.readdirSync(outRoot);
    expect(outDirs).toHaveLength(40);
    for (const j of jobs as Array<{ id: string; params: Record<string, string> }>) {
      const d = path.join(outRoot, `${j.params.server}_${j.id}`);
      expect(fs.existsSync(path.join(d, 'cam101.mp4')) || fs.existsSync(path.join(d, 'cam201.mp4')) || fs.existsSync(path.join(d, 'cam301.mp4'))).toBe(true);
    }

    // Passwords: not in listings, show, the API's read endpoints, or logs.
    const secretSeen = (text: string) => rows.some((r) => text.includes(r[2]));
    const table = await runDrover(['jobs', '--all', '--server', srv.url], { cwd: dir });
    const first = jobs[0] as { id: string };
    const show = await runDrover(['show', first.id, '--server', srv.url], { cwd: dir });
    const showJson = await runDrover(['show', first.id, '--json', '--server', srv.url], { cwd: dir });
    const logs = await runDrover(['logs', first.id, '--server', srv.url], { cwd: dir });
    expect(logs.stdout).toMatch(/with password \*\*\*/);
    expect(logs.stdout).toMatch(/--password=\*\*\*/);
    const api = await (await fetch(`${srv.url}/api/v1/jobs?limit=1000`)).text();
    const one = await (await fetch(`${srv.url}/api/v1/jobs/${first.id}`)).text();
    const logApi = await (await fetch(`${srv.url}/api/v1/jobs/${first.id}/logs`)).text();
    for (const text of [list.stdout, table.stdout, show.stdout, showJson.stdout, logs.stdout, api, one, logApi]) expect(secretSeen(text)).toBe(false);
    expect(show.stdout).toMatch(/password=\*\*\*/);
    // The worker's own log files too.
    const logDir = path.join(dir, 'drover-data', 'worker-logs');
    const logFiles = fs.readdirSync(logDir).filter((f) => f.endsWith('.log'));
    expect(logFiles).toHaveLength(40);
    for (const f of logFiles) expect(secretSeen(fs.readFileSync(path.join(logDir, f), 'utf8'))).toBe(false);
    // The worker processes log no secrets either.
    for (const w of workers) expect(secretSeen(w.output())).toBe(false);
  });

  it('names the row and column of a bad cell, and creates nothing', async () => {
    const dir = tempDir();
    writeConfig(dir, config());
    const srv = await startServer(dir);
    const sheet = path.join(dir, 'bad.xlsx');
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('tasks');
    ws.addRow(['server', 'user', 'password', 'cameras']);
    ws.addRow(['10.0.0.1', 'admin', 'pw', '101']);
    ws.addRow(['10.0.0.2', 'admin', null, '101']);
    await wb.xlsx.writeFile(sheet);
    const imp = await runDrover(['import', sheet, '--template', 'hikload', '--server', srv.url], { cwd: dir });
    expect(imp.code).not.toBe(0);
    expect(imp.stderr).toMatch(/bad\.xlsx row 3, column C \(password\)/);
    const list = await runDrover(['jobs', '--json', '--server', srv.url], { cwd: dir });
    expect(list.stdout.trim()).toBe('');
  });
});
