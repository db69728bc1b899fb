import { plural } from '../../core/plural.js';
import { mirrorMetrics } from '../../segments/metrics.js';
import { mirrorPass } from '../../segments/mirror.js';
import type { RunContext, RunResult, Runner } from '../runner.js';
import { parseMirrorParams } from './params.js';
import type { SegmentsSettings } from './settings.js';

/** Segments still missing and errors per peer kept in a job's result (the counts are kept whole). */
const RESULT_MISSING = 100;
const RESULT_ERRORS = 20;

/** Runs a mirror pass into the worker's tree, with live progress; the result is the pass's summary. */
export class MirrorRunner implements Runner {
  readonly kind = 'mirror';

  constructor(private readonly s: SegmentsSettings) {}

  async run(ctx: RunContext): Promise<RunResult> {
    if (this.s.dir === null) return { outcome: 'failed', error: 'this worker has no segment tree (worker.segments.dir)', retryable: false };
    const p = parseMirrorParams(ctx.job.params);
    let from: string[];
    if (p.from === 'registry') {
      if (!ctx.segmentNodes) return { outcome: 'failed', error: 'from: registry needs a coordinator that lists segment nodes', retryable: false };
      // Every other node that serves one of the channels; refreshed each run.
      const nodes = (await ctx.segmentNodes()).filter((n) => n.node !== this.s.node && n.channels.some((c) => p.settings.channels.includes(c)));
      from = nodes.map((n) => n.url);
      ctx.log('drover', `peers from the registry: ${nodes.map((n) => `${n.node} ${n.url}`).join(', ') || 'none'}\n`);
      if (from.length === 0) return { outcome: 'succeeded', result: { peers: [], stillMissing: [], staleTempsRemoved: 0, ok: true } };
    } else from = p.from;
    const started = Date.now();
    const summary = await mirrorPass({
      ...p.settings,
      base: this.s.dir,
      from,
      // Only to fellow workers from the registry: a URL the job names may be anyone's.
      ...(ctx.token && p.from === 'registry' ? { token: ctx.token } : {}),
      ...(this.s.ca ? { ca: this.s.ca } : {}),
      signal: ctx.signal,
      metrics: mirrorMetrics,
      onProgress: (g) => {
        const secs = (Date.now() - started) / 1000;
        ctx.progress({ percent: g.hoursTotal > 0 ? Math.round((1000 * g.hoursDone) / g.hoursTotal) / 10 : 0, bytes: g.bytes, speed: secs > 0 ? Math.round(g.bytes / secs) : 0, message: `hours ${g.hoursDone}/${g.hoursTotal}, ${plural(g.fetched, 'segment')} fetched`, hoursDone: g.hoursDone, hoursTotal: g.hoursTotal, fetched: g.fetched });
      },
    });
    for (const peer of summary.peers) {
      ctx.log('drover', `${peer.peer}: ${peer.listed ? 'listed' : 'NOT listed'}, ${plural(peer.hours, 'hour')}, ${peer.missing} missing, ${peer.fetched} fetched (${plural(peer.bytes, 'byte')}), ${plural(peer.hashMismatches, 'hash mismatch', 'hash mismatches')}, ${plural(peer.tombstones, 'tombstone')}\n`);
      for (const e of peer.errors.slice(0, 10)) ctx.log('drover', `${peer.peer}: ${e}\n`);
    }
    // A result is a job's record, not a listing: the first of what is missing, and how many.
    const result = { ...summary, stillMissing: summary.stillMissing.slice(0, RESULT_MISSING), stillMissingCount: summary.stillMissing.length, peers: summary.peers.map((x) => ({ ...x, errors: x.errors.slice(0, RESULT_ERRORS) })) };
    if (ctx.signal.aborted) return { outcome: 'canceled', result };
    if (summary.ok) return { outcome: 'succeeded', result };
    const unlisted = summary.peers.filter((x) => !x.listed).map((x) => x.peer);
    const why = [unlisted.length > 0 ? `not listed: ${unlisted.join(', ')}` : '', summary.stillMissing.length > 0 ? `${plural(summary.stillMissing.length, 'segment')} still missing (first: ${summary.stillMissing[0]})` : ''].filter(Boolean).join('; ');
    return { outcome: 'failed', error: `mirror incomplete: ${why}`, result, retryable: true };
  }
}
