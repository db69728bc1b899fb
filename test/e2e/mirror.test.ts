import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DroverClient } from '../../src/client/drover-client.js';
import type { Job } from '../../src/core/job.js';
import type { MirrorSummary } from '../../src/segments/mirror.js';
import { tombstoneOf } from '../../src/segments/segment-name.js';
import { runDrover, spawnDrover, startServer } from '../support/drover.js';
import { onCleanup, tempDir, waitFor } from '../support/tmp.js';
import { filesBelow as files, writeSegment } from '../segments/tree-fixture.js';

const H = '2019-11-13T02';

describe('mirror jobs between three nodes through one coordinator', () => {
  it('each node fills its gaps from the others (peers from the registry), tombstones too; a second round fetches nothing', async () => {
    const dir = tempDir('drover-nodes-');
    const srv = await startServer(dir, [], {});
    const drover = new DroverClient({ server: srv.url });
    onCleanup(() => drover.close());
    const trees: Record<string, string> = {};
    for (const node of ['a', 'b', 'c']) {
      trees[node] = path.join(dir, `tree-${node}`);
      fs.mkdirSync(trees[node] as string);
      const config = path.join(dir, `${node}.yaml`);
      fs.writeFileSync(config, `worker:\n  segments: { dir: ${JSON.stringify(trees[node])}, listen: "127.0.0.1:0", node: ${node} }\n`);
      spawnDrover(['worker', '--server', srv.url, '--name', `w${node}`, '--config', config], { cwd: dir });
    }
    // Different gaps: each segment on one or two nodes; a deletion on c.
    const t = trees as { a: string; b: string; c: string };
    const s1 = writeSegment(t.a, 'desertbus', 'source', H, '00:00.000000', 'one');
    const s2 = writeSegment(t.b, 'desertbus', 'source', H, '00:02.000000', 'two');
    writeSegment(t.c, 'desertbus', 'source', H, '00:02.000000', 'two');
    const s3 = writeSegment(t.c, 'desertbus', 'source', '2019-11-13T03', '00:00.000000', 'three');
    const gone = writeSegment(t.a, 'desertbus', 'source', H, '00:04.000000', 'gone');
    fs.writeFileSync(path.join(t.c, 'desertbus/source', H, tombstoneOf(gone)), '');
    writeSegment(t.b, 'desertbus', '480p', H, '00:00.000000', 'low');

    const nodes = await waitFor(async () => {
      const n = await drover.segmentNodes();
      return n.length === 3 && n.every((x) => x.channels.includes('desertbus')) ? n : null;
    }, 60_000, 'three segment nodes online');
    expect(nodes.map((n) => n.node).sort()).toEqual(['a', 'b', 'c']);
    const table = (await runDrover(['workers', '--server', srv.url], { cwd: dir })).stdout;
    expect(table).toMatch(/\bNODE\s+SEGMENTS\n/);
    for (const n of nodes) expect(table).toMatch(new RegExp(`\\s${n.node}\\s+${n.url.replace(/[.]/g, '\\.')}\\n`));

    const round = async (): Promise<Job[]> => {
      const ids: string[] = [];
      for (const node of ['a', 'b', 'c']) {
        const r = await runDrover(['add', 'mirror', '--node', node, '--param', 'from=registry', '--param', 'channels=desertbus', '--param', 'qualities=source,480p', '--param', 'backoff=50ms', '--server', srv.url], { cwd: dir });
        expect(r.stderr).toBe('');
        ids.push(r.stdout.split(' ')[0] as string);
      }
      return Promise.all(ids.map((id) => drover.wait(id)));
    };
    const first = await round();
    for (const j of first) expect(j.state, j.error ?? '').toBe('succeeded');
    // Each ran on its own node's worker.
    expect(await Promise.all(first.map(async (j) => (await drover.get(j.id)).attempts[0]?.worker))).toEqual(['wa', 'wb', 'wc']);
    const want = [
      `desertbus/480p/${H}/${fs.readdirSync(path.join(t.b, 'desertbus/480p', H))[0]}`,
      `desertbus/source/${H}/${s1}`,
      `desertbus/source/${H}/${s2}`,
      `desertbus/source/${H}/${tombstoneOf(gone)}`,
      `desertbus/source/2019-11-13T03/${s3}`,
    ].sort();
    // a keeps its own deleted segment's file, hidden by the tombstone it now has. b may have fetched
    // it from a before c's tombstone reached it; the tombstone hides it there too.
    const hidden = `desertbus/source/${H}/${gone}`;
    expect(files(t.a)).toEqual([...want, hidden].sort());
    expect(files(t.b).filter((f) => f !== hidden)).toEqual(want);
    expect(files(t.c)).toEqual(want);
    // b's segment server shows what b's mirror job fetched, as wubloader's backfiller counts it.
    const urlOf = (n: string) => nodes.find((x) => x.node === n)?.url as string;
    const bMetrics = await (await fetch(`${urlOf('b')}/metrics`)).text();
    expect(bMetrics).toContain(`segments_backfilled_total{remote="${urlOf('a')}",channel="desertbus",quality="source",hour="${H}"} 1`);
    expect(bMetrics).toMatch(/^# TYPE hash_mismatches_total counter$/m);

    const second = await round();
    for (const j of second) {
      expect(j.state).toBe('succeeded');
      const r = j.result as MirrorSummary;
      expect(r.peers.map((p) => p.fetched + p.tombstones)).toEqual([0, 0]);
    }

    // By schedule: a segment recorded on a later reaches the others without anyone adding a job.
    const late = writeSegment(t.a, 'desertbus', 'source', H, '00:06.000000', 'late');
    for (const node of ['a', 'b', 'c']) {
      await drover.putSchedule({ name: `${node}-quick`, every: '1s', job: { kind: 'mirror', node, params: { channels: 'desertbus', qualities: 'source', hours: H, backoff: '50ms' } } });
    }
    await waitFor(() => [t.b, t.c].every((tree) => fs.existsSync(path.join(tree, 'desertbus/source', H, late))), 60_000, 'the scheduled mirrors to bring the late segment');
    for (const node of ['a', 'b', 'c']) await drover.pauseSchedule(`${node}-quick`);
    const runs = (await drover.schedules()).map((s) => s.lastJobId !== null);
    expect(runs).toContain(true);
  });

  it('a mirror job for a node no worker is waits, saying so; bad params are a 400 naming the param', async () => {
    const dir = tempDir('drover-nodes-');
    const srv = await startServer(dir, [], {});
    const r = await runDrover(['add', 'mirror', '--node', 'ghost', '--param', 'channels=desertbus', '--param', 'qualities=source', '--server', srv.url], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('drover: warning: no online worker is node "ghost"\n');
    const bad = await runDrover(['add', 'mirror', '--param', 'channels=../x', '--param', 'qualities=source', '--server', srv.url], { cwd: dir });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('drover: params.channels: "../x" is not a plain name\n');
    const hours = await runDrover(['add', 'mirror', '--param', 'channels=a', '--param', 'qualities=source', '--param', 'hours=soon', '--server', srv.url], { cwd: dir });
    expect(hours.stderr).toMatch(/^drover: params\.hours: "soon" is not an hour/);
    expect((await runDrover(['add', 'mirror', '--param', 'channels=a', '--param', 'qualities=source', '--param', 'hours=100000000', '--server', srv.url], { cwd: dir })).stderr).toMatch(/^drover: params\.hours: a number of hours from 1 to 8784/);
    // A peer URL with a token in it is a secret param.
    const tok = await runDrover(['add', 'mirror', '--node', 'ghost', '--param', 'from=http://drover:s3cr3t-token@node2:8003', '--param', 'channels=a', '--param', 'qualities=source', '--json', '--server', srv.url], { cwd: dir });
    expect(tok.stdout).not.toContain('s3cr3t-token');
    expect(JSON.parse(tok.stdout).params.from).toBe('***');
  });

  it("sends the worker's token to its fellow workers only, never to a peer URL a job names", async () => {
    const dir = tempDir('drover-nodes-');
    const tokenFile = path.join(dir, 'tokens.yaml');
    const srv = await startServer(dir, ['--token-file', tokenFile]);
    const tokens = Object.fromEntries(fs.readFileSync(tokenFile, 'utf8').split('\n').filter((l) => /^(admin|worker):/.test(l)).map((l) => l.split(': '))) as { admin: string; worker: string };
    const drover = new DroverClient({ server: srv.url, token: tokens.admin });
    onCleanup(() => drover.close());
    // A stranger's server that notes what it is sent.
    const seen: Array<string | undefined> = [];
    const stranger = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
    });
    await new Promise<void>((r) => stranger.listen(0, '127.0.0.1', () => r()));
    onCleanup(() => new Promise<void>((r) => stranger.close(() => r())));
    const strangerUrl = `http://127.0.0.1:${(stranger.address() as net.AddressInfo).port}`;
    const tree = path.join(dir, 'tree');
    fs.mkdirSync(tree);
    fs.writeFileSync(path.join(dir, 'w.yaml'), `worker:\n  segments: { dir: ${JSON.stringify(tree)}, listen: "127.0.0.1:0", node: a }\n`);
    spawnDrover(['worker', '--server', srv.url, '--name', 'wa', '--config', path.join(dir, 'w.yaml')], { cwd: dir, env: { DROVER_TOKEN: tokens.worker } });
    await waitFor(async () => (await drover.segmentNodes()).length === 1, 60_000, 'the node online');
    const job = await drover.enqueue({ kind: 'mirror', node: 'a', params: { from: strangerUrl, channels: 'desertbus', qualities: 'source' } });
    expect((await drover.wait(job.id)).state).toBe('succeeded');
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((h) => h === undefined)).toBe(true);
    // Its own segment server takes the worker token, and nothing else beyond it.
    const own = (await drover.segmentNodes())[0]?.url as string;
    expect((await fetch(`${own}/files`, { headers: { authorization: `Bearer ${tokens.worker}` } })).status).toBe(200);
    expect((await fetch(`${own}/files`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
  });
});
