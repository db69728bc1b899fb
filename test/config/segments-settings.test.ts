import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig, workerSettingsOf } from '../../src/config/config.js';
import type { SegmentsSettings } from '../../src/runners/registry.js';

const segmentsOf = (yaml: string) => workerSettingsOf(parseConfig(yaml).config.worker).kinds.get('mirror') as SegmentsSettings;

describe('worker.segments', () => {
  it('resolves the tree, the listen address, the node (the host name by default) and the URL', () => {
    expect(segmentsOf('')).toEqual({ dir: null, listen: null, node: os.hostname(), url: null, tls: null });
    expect(segmentsOf('worker:\n  segments: { dir: ./tree, listen: "0.0.0.0:8003", node: node1, url: "http://node1.lan:8003", tls: { cert: c.pem, key: k.pem } }\n')).toEqual({
      dir: path.resolve('tree'),
      listen: { host: '0.0.0.0', port: 8003 },
      node: 'node1',
      url: 'http://node1.lan:8003',
      tls: { cert: 'c.pem', key: 'k.pem' },
    });
    expect(segmentsOf('worker:\n  segments: { dir: ./tree, listen: "[::]:0" }\n').listen).toEqual({ host: '::', port: 0 });
  });

  it('names what is wrong', () => {
    expect(() => segmentsOf('worker:\n  segments: { dir: ./t, listen: "8003" }\n')).toThrow('worker.segments.listen: expected HOST:PORT (e.g. 0.0.0.0:8003), got "8003"');
    expect(() => segmentsOf('worker:\n  segments: { listen: "0.0.0.0:8003" }\n')).toThrow('worker.segments.listen: needs worker.segments.dir, the tree to serve');
    expect(() => parseConfig('worker:\n  segments: { dir: ./t, nodes: x }\n')).toThrow(/worker\.segments.*nodes/);
    expect(() => segmentsOf('worker:\n  segments: { dir: ./t, tls: { cert: c, key: k } }\n')).toThrow('worker.segments.tls: needs worker.segments.listen, the server it is for');
  });
});
