import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The arrows between the rooms of src/, checked on every import (static and dynamic), so the
 * layout the README describes stays true.
 */
const SRC = path.resolve(import.meta.dirname, '../src');

interface Edge {
  from: string;
  to: string;
  /** `import(...)`: loaded when that code runs, not with the module. */
  lazy?: true;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

/** Every import of src/: `to` relative to src/ without the extension, or the package name. */
const edges: Edge[] = sourceFiles(SRC).flatMap((file) => {
  const text = fs.readFileSync(file, 'utf8');
  const from = path.relative(SRC, file).replace(/\.ts$/, '');
  return [...text.matchAll(/(from|import)\s*(\()?\s*'([^']+)'/g)].map((m): Edge => {
    const spec = m[3] as string;
    const to = spec.startsWith('.') ? path.relative(SRC, path.resolve(path.dirname(file), spec)).replace(/\.js$/, '') : spec;
    return m[2] ? { from, to, lazy: true } : { from, to };
  });
});

const room = (p: string) => p.split('/')[0] as string;
const local = (e: Edge) => !e.to.startsWith('node:') && e.to.includes('/') === true && fs.existsSync(path.join(SRC, `${e.to}.ts`));
const offending = (keep: (e: Edge) => boolean) => edges.filter(keep).map((e) => `${e.from} → ${e.to}`);

describe('the architecture of src/', () => {
  it('reads the imports (the check itself works)', () => {
    expect(edges.length).toBeGreaterThan(300);
    expect(edges).toContainEqual({ from: 'agent/agent', to: 'client/drover-client' });
    expect(edges).toContainEqual({ from: 'runners/download/index', to: 'runners/download/download-runner', lazy: true });
  });

  it('core imports nothing of Drover outside core; the store only core', () => {
    expect(offending((e) => room(e.from) === 'core' && local(e) && room(e.to) !== 'core')).toEqual([]);
    expect(offending((e) => room(e.from) === 'store' && local(e) && !['store', 'core'].includes(room(e.to)))).toEqual([]);
  });

  it('the store never does crypto: secret params reach it sealed by the coordinator and leave it as they are', () => {
    expect(offending((e) => room(e.from) === 'store' && ['core/secret-box', 'node:crypto', 'crypto'].includes(e.to))).toEqual([]);
    expect(offending((e) => room(e.from) === 'store' && e.to.startsWith('coordinator/'))).toEqual([]);
  });

  it('the store never touches HTTP, the worker loop never touches SQL', () => {
    expect(offending((e) => room(e.from) === 'store' && /^(fastify|undici|node:http)/.test(e.to))).toEqual([]);
    expect(offending((e) => room(e.from) === 'agent' && (/^(pg|better-sqlite3)$/.test(e.to) || (local(e) && ['store', 'coordinator'].includes(room(e.to)))))).toEqual([]);
  });

  it('the wire protocol is core and itself; the client is the protocol over HTTP', () => {
    expect(offending((e) => room(e.from) === 'protocol' && local(e) && !['protocol', 'core'].includes(room(e.to)))).toEqual([]);
    expect(offending((e) => room(e.from) === 'client' && local(e) && !['client', 'protocol', 'core'].includes(room(e.to)))).toEqual([]);
  });

  it("segment trees (serving, mirroring) are core and themselves: a worker may carry them without the coordinator", () => {
    expect(offending((e) => room(e.from) === 'segments' && local(e) && !['segments', 'core'].includes(room(e.to)))).toEqual([]);
  });

  it('config reads the kinds through the registry, never a kind\'s internals', () => {
    const publicRunners = new Set(['runners/registry', 'runners/kind', 'runners/template']);
    expect(offending((e) => room(e.from) === 'config' && local(e) && room(e.to) === 'runners' && !publicRunners.has(e.to))).toEqual([]);
    expect(offending((e) => room(e.from) === 'runners' && local(e) && room(e.to) === 'config')).toEqual([]);
  });

  it('each kind keeps to its own folder and the shared one; only the registry names them all', () => {
    const kinds = fs.readdirSync(path.join(SRC, 'runners'), { withFileTypes: true }).filter((d) => d.isDirectory() && d.name !== 'shared').map((d) => d.name);
    expect(kinds.sort()).toEqual(['download', 'exec', 'ffmpeg', 'hikvision', 'mirror', 'noop']);
    const kindOf = (p: string) => (p.startsWith('runners/') && kinds.includes(p.split('/')[1] as string) ? (p.split('/')[1] as string) : null);
    expect(offending((e) => local(e) && kindOf(e.to) !== null && kindOf(e.from) !== kindOf(e.to) && e.from !== 'runners/registry')).toEqual([]);
  });

  it('the kinds\' code loads only on a worker: what the coordinator and the CLI read of them is light', () => {
    const loaded = (start: string) => {
      const seen = new Set<string>();
      const visit = (m: string) => {
        if (seen.has(m)) return;
        seen.add(m);
        for (const e of edges) if (e.from === m && !e.lazy) visit(e.to);
      };
      visit(start);
      return [...seen];
    };
    const runnerCode = (m: string) => /^runners\/[a-z]+\/(.*-runner|wire\/|transfer|hash-pool|partial)/.test(m) || /^supervise\/(spawn|ffmpeg-session)$/.test(m);
    for (const start of ['config/config', 'coordinator/server', 'cli/job-actions', 'cli/main']) expect(loaded(start).filter(runnerCode), start).toEqual([]);
  });

  it('drover run loads the supervisor, not the coordinator, the store or the HTTP client', () => {
    // Everything reachable from the `run` fast path.
    const seen = new Set<string>();
    const visit = (m: string) => {
      if (seen.has(m)) return;
      seen.add(m);
      for (const e of edges) if (e.from === m) visit(local(e) ? e.to : e.to);
    };
    visit('cli/run-fast');
    const reached = [...seen];
    expect(reached.filter((m) => /^(coordinator|store|client|agent|config|runners)\//.test(m))).toEqual([]);
    expect(reached.filter((m) => ['fastify', 'pino', 'prom-client', 'undici', 'zod', 'commander', 'pg', 'better-sqlite3'].includes(m))).toEqual([]);
  });
});
