import type { QueueView } from '../protocol/messages.js';
import { withClient } from './client-context.js';
import type { ClientFlags } from './flags.js';
import { ago, countsLine, table } from './format.js';

function describe(q: QueueView, now = Date.now()): string {
  return `queue ${q.name}: ${q.paused ? `paused${q.pausedAt !== null ? ` ${ago(q.pausedAt, now)}` : ''}` : 'running'}; ${countsLine(q.counts as Parameters<typeof countsLine>[0])}`;
}

export async function queueListAction(f: ClientFlags & { json?: boolean }): Promise<void> {
  await withClient(f, async (api) => {
    const queues = await api.queues();
    if (f.json) {
      for (const q of queues) process.stdout.write(JSON.stringify(q) + '\n');
      return;
    }
    if (queues.length === 0) return void process.stdout.write('no queues (no jobs yet)\n');
    const now = Date.now();
    const rows = queues.map((q) => [q.name, q.paused ? `paused${q.pausedAt !== null ? ` ${ago(q.pausedAt, now)}` : ''}` : 'running', countsLine(q.counts as Parameters<typeof countsLine>[0])]);
    process.stdout.write(table(['QUEUE', 'STATE', 'JOBS'], rows) + '\n');
  });
}

export async function queuePauseAction(name: string, f: ClientFlags): Promise<void> {
  await withClient(f, async (api) => void process.stdout.write(describe(await api.pauseQueue(name, true)) + '\n'));
}

export async function queueResumeAction(name: string, f: ClientFlags): Promise<void> {
  await withClient(f, async (api) => void process.stdout.write(describe(await api.pauseQueue(name, false)) + '\n'));
}
