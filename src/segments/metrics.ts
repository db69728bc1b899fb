import client from 'prom-client';

/**
 * wubloader's backfiller metrics, as its Python client exports them (counters end in `_total`):
 * segments fetched and kept, by peer, channel, quality and hour; hash mismatches and errors by peer.
 */
export class MirrorMetrics {
  readonly registry = new client.Registry();
  readonly backfilled = new client.Counter({ name: 'segments_backfilled_total', help: 'Segments fetched from a peer and kept', labelNames: ['remote', 'channel', 'quality', 'hour'] as const, registers: [this.registry] });
  readonly hashMismatches = new client.Counter({ name: 'hash_mismatches_total', help: "Segments a peer served whose bytes did not match their name's hash", labelNames: ['remote'] as const, registers: [this.registry] });
  readonly errors = new client.Counter({ name: 'backfill_errors_total', help: 'Failed requests to a peer (listings and segments)', labelNames: ['remote'] as const, registers: [this.registry] });
}

/** The process's mirror metrics: a worker's mirror jobs count here, its segment server shows them. */
export const mirrorMetrics = new MirrorMetrics();
