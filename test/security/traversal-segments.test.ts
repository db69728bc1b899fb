import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { parseMirrorParams } from '../../src/runners/mirror/params.js';
import { BATCH_HEADER, BATCH_TYPE, frameHeader } from '../../src/segments/batch.js';
import { mirrorPass } from '../../src/segments/mirror.js';
import { contentHash, tombstoneOf } from '../../src/segments/segment-name.js';
import { startSegmentServer } from '../../src/segments/server.js';
import { handlerServer } from '../support/http-server.js';
import { listTree, sandbox, show, traversalCorpus } from '../support/traversal-corpus.js';
import { onCleanup, tempDir } from '../support/tmp.js';
import { coordinator, shownPart } from './traversal-kit.js';

// Segment mirroring: the names a remote node lists (hours, segments, tombstones) come from
// outside. A peer of our own making lists every value of the traversal corpus, alone and
// dressed up as segment names; only the real segment and tombstone land, in their hour.

const H = '2019-11-13T01';
const GOOD = Buffer.from('good segment');
const S = `00:00.000000-2.000-full-${contentHash(GOOD)}.ts`;
const T = tombstoneOf(`00:02.000000-2.000-full-${contentHash(Buffer.from('deleted'))}.ts`);

describe('segment names from a remote node, against the traversal corpus', () => {
  it('are never written outside the local archive: only the real segment and tombstone land', async () => {
    const box = sandbox(tempDir('drover-trav-seg-'));
    const corpus = traversalCorpus(box.outside).map((c) => c.value);
    const names = [S, T];
    for (const v of corpus) {
      names.push(v, `${v}.ts`, `${v}.tombstone`, `${v}.json`, `${v}/${S}`, `${S}/${v}`, `${v}/${T}`, `${S.slice(0, -3)}${v}.ts`, `${v}${S}`);
    }
    names.push(`../${S}`, `../../${H}/${S}`, `/${S}`, `..\\${S}`, `../${T}`, `${path.join(box.outside, S)}`);
    const asked: string[] = [];
    const peer = await handlerServer((req, res) => {
      const u = decodeURIComponent(new URL(req.url!, 'http://x').pathname);
      asked.push(u);
      const json = (v: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(v));
      if (u === '/files/desertbus/source') return json([H, ...corpus, `../${H}`, `${H}/..`, `/${H}`]);
      if (u === `/files/desertbus/source/${H}`) return json(names);
      // Whatever is asked for, it answers: the good bytes for the real name, bad ones otherwise.
      if (u.startsWith('/segments/')) return res.writeHead(200).end(u.endsWith(`/${S}`) ? GOOD : 'evil');
      res.writeHead(404).end();
    });
    const sum = await mirrorPass({ base: box.root, from: [peer], channels: ['desertbus'], qualities: ['source'], recentCutoffMs: 0, backoffMs: 1, order: 'forward' });
    box.unchanged('mirror pass');
    expect(listTree(box.root)).toEqual(['desertbus/', 'desertbus/source/', `desertbus/source/${H}/`, `desertbus/source/${H}/${S}`, `desertbus/source/${H}/${T}`]);
    expect(fs.readFileSync(path.join(box.root, 'desertbus/source', H, S))).toEqual(GOOD);
    expect(sum.peers[0]).toMatchObject({ listed: true, hours: 1, fetched: 1, tombstones: 1 });
    expect(sum.peers[0]!.invalid).toBeGreaterThan(corpus.length);
    // Only the real segment was asked for: nothing else was taken for one.
    expect(asked.filter((a) => a.startsWith('/segments/'))).toEqual([`/segments/desertbus/source/${H}/${S}`]);
  });

  it("a Drover peer's batch answer naming other files than those asked: refused, nothing written", async () => {
    const box = sandbox(tempDir('drover-trav-batch-'));
    const two = [S, `00:04.000000-2.000-full-${contentHash(Buffer.from('other'))}.ts`];
    const evil = traversalCorpus(box.outside).map((c) => c.value).filter((v) => !/[\r\n]/.test(v));
    let answer = 0;
    const peer = await handlerServer((req, res) => {
      const u = decodeURIComponent(new URL(req.url!, 'http://x').pathname);
      if (u === `/files/desertbus/source/${H}`) return res.writeHead(200, { 'content-type': 'application/json', [BATCH_HEADER]: '8' }).end(JSON.stringify(two));
      if (req.method === 'POST') {
        // Frames for names nobody asked for, each a climb out of the hour.
        const name = evil[answer++ % evil.length] as string;
        return res.writeHead(200, { 'content-type': BATCH_TYPE }).end(Buffer.concat([frameHeader(name, GOOD.length), GOOD, frameHeader(`../${S}`, GOOD.length), GOOD]));
      }
      res.writeHead(404).end();
    });
    for (let i = 0; i < 8; i++) {
      const sum = await mirrorPass({ base: box.root, from: [peer], channels: ['desertbus'], qualities: ['source'], hours: [H], recentCutoffMs: 0, backoffMs: 1, concurrency: 1 });
      expect(sum.ok).toBe(false);
      expect(sum.peers[0]!.fetched).toBe(0);
      box.unchanged(`batch ${i}`);
    }
    expect(answer).toBeGreaterThanOrEqual(8);
    expect(listTree(box.root)).toEqual(['desertbus/', 'desertbus/source/', `desertbus/source/${H}/`]);
  });

  it("a mirror job's channels and qualities: refused at enqueue naming the param, or one plain directory inside the archive", async () => {
    const box = sandbox(tempDir('drover-trav-segp-'));
    const c = await coordinator();
    const peer = await handlerServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify([H])));
    for (const { label, value } of traversalCorpus(box.outside)) {
      for (const param of ['channels', 'qualities']) {
        const what = `${param}=${show(value)} (${label})`;
        const params = { from: peer, channels: 'desertbus', qualities: 'source', [param]: value };
        const at = await c.enqueue({ kind: 'mirror', params });
        if (at.status !== 201) {
          expect(at.status, what).toBe(400);
          expect(at.message, what).toMatch(new RegExp(`^params\\.${param}: `));
          if (!value.includes(',') && value.trim() !== '') expect(at.message, what).toContain(shownPart(value.trim()));
          continue;
        }
        // Taken: the worker's own check agrees, and a pass stays inside its tree.
        const p = parseMirrorParams(params);
        await mirrorPass({ ...p.settings, base: box.root, from: [peer], backoffMs: 1 });
        box.unchanged(what);
      }
    }
  });

  it('the segment server never serves a file outside its tree, whatever path it is asked for', async () => {
    const box = sandbox(tempDir('drover-trav-segsrv-'));
    fs.mkdirSync(path.join(box.root, 'desertbus/source', H), { recursive: true });
    fs.writeFileSync(path.join(box.root, 'desertbus/source', H, S), GOOD);
    fs.writeFileSync(path.join(box.outside, 'secret.ts'), 'SECRET-OUTSIDE');
    const srv = await startSegmentServer({ dir: box.root, port: 0, logger: silentLogger() });
    onCleanup(() => srv.close());
    for (const { label, value } of traversalCorpus(box.outside)) {
      const enc = encodeURIComponent(value);
      for (const p of [`/segments/desertbus/source/${H}/${enc}`, `/segments/${enc}/source/${H}/${S}`, `/segments/desertbus/source/${enc}/secret.ts`, `/files/${enc}`, `/files/desertbus/${enc}`, `/segments/desertbus/source/${H}/..%2F..%2F..%2Foutside%2Fsecret.ts`, `/segments/desertbus/source/${H}/${enc}%2F..%2F..%2F..%2F..%2Foutside%2Fsecret.ts`]) {
        const res = await fetch(`${srv.url}${p}`);
        const body = await res.text();
        expect(body, `${p} (${label})`).not.toContain('SECRET-OUTSIDE');
        expect(res.status, `${p} (${label})`).toBeLessThan(500);
      }
    }
  });
});
