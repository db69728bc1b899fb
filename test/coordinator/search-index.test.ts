import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig, serverSettingsOf } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/coordinator/server.js';
import type { SqliteJobStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir, waitFor } from '../support/tmp.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const { templates } = parseConfig(`
templates:
  clip:
    argv: [/bin/true, "{camera}", "{password}"]
    secrets: [password]
`);

/** A coordinator on `dataDir` whose log lines land in `lines`. */
async function server(dataDir: string, searchIndex: boolean | 'default' | undefined, lines: string[]): Promise<RunningServer> {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { msg: string }).msg));
      done();
    },
  });
  const srv = await startServer({ port: 0, dataDir, tokens: { admin: null, worker: null }, templates: templates.values(), ...(searchIndex === undefined ? {} : { searchIndex }), logger: pino({ level: 'info' }, sink) });
  cleanups.push(() => srv.close());
  return srv;
}

async function search(srv: RunningServer, q: string): Promise<string[]> {
  const r = await fetch(`${srv.url}/api/v1/jobs?${new URLSearchParams({ q })}`);
  expect(r.status).toBe(200);
  return ((await r.json()) as { jobs: Array<{ id: string }> }).jobs.map((j) => j.id);
}

describe('server.search_index', () => {
  it('is the store\'s default unless the config says (on for SQLite, off for PostgreSQL)', async () => {
    expect(serverSettingsOf(parseConfig('server: {}').config.server).searchIndex).toBe('default');
    expect(serverSettingsOf(parseConfig('server: { search_index: null }').config.server).searchIndex).toBe('default');
    expect(serverSettingsOf(parseConfig('server: { search_index: false }').config.server).searchIndex).toBe(false);
    expect(serverSettingsOf(parseConfig('server: { search_index: true }').config.server).searchIndex).toBe(true);
    expect(() => parseConfig('server: { search_index: "yes" }')).toThrow(/search_index/);
    const lines: string[] = [];
    const srv = await server(path.join(tempDir(), 'data'), 'default', lines);
    expect(lines).toContain('server.search_index: true: building the text search index over 0 jobs in the background');
    expect((srv.store as SqliteJobStore).searchIndexState().on).toBe(true);
  });

  it('builds the index at start over the jobs there, keeps it, never holds a secret, and drops it when turned off', async () => {
    const dir = path.join(tempDir(), 'data');
    const lines: string[] = [];
    let srv = await server(dir, false, lines);
    const add = async (camera: string) => {
      const r = await fetch(`${srv.url}/api/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ template: 'clip', params: { camera, password: 'hunter2-secret' } }) });
      expect(r.status).toBe(201);
      const body = (await r.json()) as { id?: string; jobs?: Array<{ id: string }> };
      return (body.id ?? body.jobs?.[0]?.id) as string;
    };
    const before = await add('lobby-east');
    await srv.close();

    srv = await server(dir, true, lines);
    expect(lines.filter((l) => /^server.search_index: true: building the text search index over 1 jobs in the background$/.test(l))).toHaveLength(1);
    const after = await add('garage-west');
    const store = srv.store as SqliteJobStore;
    await waitFor(() => {
      const s = store.searchIndexState();
      return s.built && s.backlog === 0;
    }, 30_000, 'the index built, and the new job in it');
    expect(await search(srv, 'lobby-e')).toEqual([before]);
    expect(await search(srv, 'garage-w')).toEqual([after]);
    expect(await search(srv, 'hunter2')).toEqual([]);
    await srv.close();

    // The index's own words, in its own file: the secret is not among them, the camera is.
    const db = new Database(path.join(dir, 'drover.db-search'), { readonly: true });
    const match = (q: string) => db.prepare('SELECT COUNT(*) AS n FROM jobs_text WHERE jobs_text MATCH ?').pluck().get(`"${q}"`);
    expect(match('garage-west')).toBe(1);
    expect(match('hunter2')).toBe(0);
    db.close();

    // Opened without a word on it (a tool, a test): left as it is.
    srv = await server(dir, undefined, lines);
    expect(lines.filter((l) => /search index/.test(l))).toHaveLength(1);
    await srv.close();

    srv = await server(dir, false, lines);
    expect(lines.filter((l) => /^dropped the text search index/.test(l))).toHaveLength(1);
    expect(await search(srv, 'garage-w')).toEqual([after]);
    const left = new Database(path.join(dir, 'drover.db'), { readonly: true });
    expect(left.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'jobs_text%'").all()).toEqual([]);
    left.close();
    expect(fs.existsSync(path.join(dir, 'drover.db-search'))).toBe(false);
  });
});
