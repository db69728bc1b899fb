import { useState } from 'preact/hooks';
import type { QueueView } from '../../../src/protocol/messages.js';
import { ROUTES } from '../../../src/protocol/routes.js';
import { get, post, session } from '../api.js';
import { ago } from '../format.js';
import { useData } from '../hooks.js';
import { href } from '../router.js';
import { Note } from '../ui.js';

const SHOWN = ['queued', 'waiting', 'running', 'succeeded', 'failed', 'canceled'] as const;

export function Queues() {
  // Counts per queue read the whole table: every 10 s, and after a pause or resume.
  const queues = useData(() => get<{ queues: QueueView[] }>(ROUTES.queues.path()), [], { everyMs: 10_000 });
  const [error, setError] = useState<string | null>(null);
  const admin = session.value?.role === 'admin';
  const toggle = async (q: QueueView) => {
    try {
      await post(q.paused ? ROUTES.resumeQueue.path(q.name) : ROUTES.pauseQueue.path(q.name));
      setError(null);
      queues.reload();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <section class="card">
      <h2>Queues</h2>
      <p class="muted">A paused queue leases nothing; its running jobs go on. The same as drover queue pause|resume NAME.</p>
      {(error ?? queues.error) && <Note>{error ?? queues.error}</Note>}
      {queues.data && queues.data.queues.length === 0 && <p class="muted">No queues yet: a queue appears with its first job.</p>}
      <div class="scroll">
        <table class="list" data-testid="queues">
          <thead>
            <tr>
              <th>Queue</th>
              <th>Status</th>
              {SHOWN.map((s) => (
                <th key={s} class="num">
                  {s}
                </th>
              ))}
              {admin && <th />}
            </tr>
          </thead>
          <tbody>
            {queues.data?.queues.map((q) => (
              <tr key={q.name} data-queue={q.name}>
                <td>
                  <a href={href('/jobs', { queue: q.name })}>{q.name}</a>
                </td>
                <td>{q.paused ? <span class="state state-waiting">paused {ago(q.pausedAt)}</span> : <span class="state state-running">active</span>}</td>
                {SHOWN.map((s) => (
                  <td key={s} class="num">
                    {q.counts[s] ?? ''}
                  </td>
                ))}
                {admin && (
                  <td>
                    <button type="button" onClick={() => toggle(q)}>
                      {q.paused ? 'Resume' : 'Pause'}
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
