import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { issueCert, makeCa } from '../../src/core/pki.js';
import { mirrorPass } from '../../src/segments/mirror.js';
import { startSegmentServer } from '../../src/segments/server.js';
import { filesBelow, writeSegment } from '../segments/tree-fixture.js';
import { onCleanup, tempDir } from '../support/tmp.js';

describe('the segment server over TLS', () => {
  it('serves a tree over HTTPS to a mirror that trusts its CA; a mirror that does not is told why', async () => {
    const ca = makeCa('segments CA');
    const leaf = issueCert(ca, { commonName: 'localhost', names: ['localhost'], ips: ['127.0.0.1'], use: 'server' });
    const dir = tempDir('drover-seg-tls-');
    fs.writeFileSync(path.join(dir, 'seg.crt'), leaf.cert);
    fs.writeFileSync(path.join(dir, 'seg.key'), leaf.key);
    const tree = path.join(dir, 'tree');
    const name = writeSegment(tree, 'desertbus', 'source', '2019-11-13T01', '00:00.000000', 'over tls');
    const srv = await startSegmentServer({ dir: tree, port: 0, logger: silentLogger(), tls: { cert: path.join(dir, 'seg.crt'), key: path.join(dir, 'seg.key') } });
    onCleanup(() => srv.close());
    expect(srv.url).toMatch(/^https:\/\//);
    const opts = { channels: ['desertbus'], qualities: ['source'], backoffMs: 5, from: [srv.url] };

    const untrusted = await mirrorPass({ ...opts, base: path.join(dir, 'a') });
    expect(untrusted.ok).toBe(false);
    expect(untrusted.peers[0]?.errors.join(' ')).toMatch(/self-signed|unable to verify|certificate/i);

    const local = path.join(dir, 'b');
    const trusted = await mirrorPass({ ...opts, base: local, ca: ca.cert });
    expect(trusted.ok).toBe(true);
    expect(filesBelow(local)).toEqual([`desertbus/source/2019-11-13T01/${name}`]);
    expect(fs.readFileSync(path.join(local, 'desertbus/source/2019-11-13T01', name), 'utf8')).toBe('over tls');
  });
});
