import type { WorkerView } from '../../../src/core/reports.js';
import { ROUTES } from '../../../src/protocol/routes.js';
import { get } from '../api.js';
import { ago, time } from '../format.js';
import { useData } from '../hooks.js';
import { href } from '../router.js';
import { Note } from '../ui.js';

export function Workers() {
  const workers = useData(() => get<{ workers: WorkerView[] }>(ROUTES.workers.path(true)), [], { live: true, everyMs: 5_000 });
  if (workers.error) return <Note>{workers.error}</Note>;
  const list = workers.data?.workers ?? [];
  return (
    <section class="card">
      <h2>Workers</h2>
      {workers.data && list.length === 0 && <p class="muted">No worker has connected yet. Start one: drover worker --server URL</p>}
      <div class="scroll">
        <table class="list" data-testid="workers">
          <thead>
            <tr>
              <th>Name</th>
              <th>Status</th>
              <th>Host</th>
              <th>Version</th>
              <th class="num">Slots</th>
              <th>Queues</th>
              <th>Kinds / templates</th>
              <th>Destinations</th>
              <th>Last seen</th>
            </tr>
          </thead>
          <tbody>
            {list.map((w) => (
              <tr key={w.name} data-worker={w.name} class={w.online ? '' : 'offline'}>
                <td>{w.name}</td>
                <td>{w.online ? <span class="state state-running">online</span> : <span class="state state-canceled">{w.stopped ? 'stopped' : 'not heartbeating'}</span>}</td>
                <td>{w.host}</td>
                <td>{w.version}</td>
                <td class="num">
                  {w.running > 0 ? <a href={href('/jobs', { state: 'running', worker: w.name })}>{w.running}</a> : 0}/{w.slots}
                </td>
                <td>{w.queues && w.queues.length > 0 ? w.queues.join(', ') : 'all'}</td>
                <td>
                  {w.kinds.join(', ')}
                  {w.templates.length > 0 && <div class="muted">{w.templates.map((t) => t.name).join(', ')}</div>}
                </td>
                <td>{(w.destinations ?? []).join(', ') || '–'}</td>
                <td title={time(w.lastSeen)}>{ago(w.lastSeen)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
