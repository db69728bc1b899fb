import type { Job } from '../../../src/core/job.js';
import type { WorkerView } from '../../../src/core/reports.js';
import type { Schedule } from '../../../src/core/schedule.js';
import type { FinishedAnswer, ListAnswer, StatsAnswer } from '../../../src/protocol/messages.js';
import { ROUTES } from '../../../src/protocol/routes.js';
import { get } from '../api.js';
import { ago, time } from '../format.js';
import { useData } from '../hooks.js';
import { progressSignal } from '../live.js';
import { href } from '../router.js';
import { CountsTable, FinishedChart, Note, ProgressBar, SHOWN_STATES, StateBadge } from '../ui.js';
import { useState } from 'preact/hooks';

const listPath = (q: Record<string, string>) => ROUTES.list.path(new URLSearchParams(q));

export function Overview() {
  const [window, setWindow] = useState<'hour' | 'day'>('hour');
  // The counts per queue and owner read the whole table: every 10 s (the coordinator reads them at most every 5 s), not on each change.
  const stats = useData(() => get<StatsAnswer>(ROUTES.stats.path()), [], { everyMs: 10_000 });
  const finished = useData(() => get<FinishedAnswer>(ROUTES.finished.path(window)), [window], { live: window === 'hour', everyMs: 30_000 });
  const running = useData(() => get<ListAnswer>(listPath({ state: 'running', limit: '200' })), [], { live: true, everyMs: 10_000 });
  const failures = useData(() => get<ListAnswer>(listPath({ state: 'failed,timed_out', finishedSince: String(Date.now() - 3_600_000), order: 'desc', limit: '20' })), [], { live: true, everyMs: 30_000 });
  const schedules = useData(() => get<{ schedules: Schedule[] }>(ROUTES.schedules.path()), [], { everyMs: 30_000 });
  const workers = useData(() => get<{ workers: WorkerView[] }>(ROUTES.workers.path()), [], { live: true, everyMs: 10_000 });
  const s = stats.data;
  return (
    <div class="overview">
      {stats.error && <Note>{stats.error}</Note>}
      <section class="tiles" aria-label="Jobs per state">
        {s &&
          SHOWN_STATES.map((st) => (
            <a key={st} class={`tile tile-${st}`} href={href('/jobs', { state: st })} data-state={st}>
              <span class="tile-n">{s.counts[st].toLocaleString()}</span>
              <span class="tile-label">{st.replace('_', ' ')}</span>
            </a>
          ))}
        {s && (
          <a class="tile" href={href('/workers')}>
            <span class="tile-n" data-testid="workers-online">
              {s.workers.online}
            </span>
            <span class="tile-label">
              workers online · {s.workers.running}/{s.workers.slots} slots
            </span>
          </a>
        )}
      </section>

      <section class="card">
        <header class="card-head">
          <h2>Finished</h2>
          <div class="seg" role="group" aria-label="Window">
            <button class={window === 'hour' ? 'on' : ''} onClick={() => setWindow('hour')}>
              last hour
            </button>
            <button class={window === 'day' ? 'on' : ''} onClick={() => setWindow('day')}>
              24 h
            </button>
          </div>
        </header>
        {finished.data ? <FinishedChart buckets={finished.data.buckets} bucketMs={finished.data.bucketMs} /> : <p class="muted">…</p>}
      </section>

      <section class="card">
        <h2>
          Running <span class="muted">{running.data ? `(${running.data.jobs.length}${running.data.nextCursor ? '+' : ''})` : ''}</span>
        </h2>
        {running.data && running.data.jobs.length === 0 && <p class="muted">Nothing running.</p>}
        <ul class="running" data-testid="running">
          {running.data?.jobs.map((j) => <RunningJob key={j.id} job={j} />)}
        </ul>
      </section>

      <section class="card">
        <h2>Failures in the last hour</h2>
        {failures.data && failures.data.jobs.length === 0 && <p class="muted">None.</p>}
        <ul class="failures">
          {failures.data?.jobs.map((j) => (
            <li key={j.id}>
              <a href={href(`/job/${j.id}`)}>{j.id}</a> <StateBadge state={j.state} /> <span class="muted">{j.template ?? j.kind} · {ago(j.finishedAt)}</span>
              <div class="error-text">{j.error}</div>
            </li>
          ))}
        </ul>
      </section>

      <div class="two">
        <section class="card">
          <h2>Queues</h2>
          {s && <CountsTable rows={s.queues} name="queue" link={(q) => href('/jobs', { queue: q })} />}
        </section>
        <section class="card">
          <h2>Owners</h2>
          {s && <CountsTable rows={s.owners} name="owner" link={(o) => href('/jobs', o ? { owner: o } : {})} />}
        </section>
      </div>

      <div class="two">
        <section class="card">
          <h2>Workers</h2>
          {workers.data && workers.data.workers.length === 0 && <p class="muted">No worker has connected.</p>}
          <ul class="plain">
            {workers.data?.workers.map((w) => (
              <li key={w.name}>
                <span class={w.online ? 'dot dot-on' : 'dot dot-off'} aria-label={w.online ? 'online' : 'offline'} /> {w.name} <span class="muted">{w.running}/{w.slots} slots · {w.online ? `seen ${ago(w.lastSeen)}` : `offline since ${time(w.lastSeen)}`}</span>
              </li>
            ))}
          </ul>
        </section>
        <section class="card">
          <h2>Schedules</h2>
          {schedules.data && schedules.data.schedules.length === 0 && <p class="muted">No schedules.</p>}
          <table class="list">
            <tbody>
              {schedules.data?.schedules.map((sc) => (
                <tr key={sc.name}>
                  <td>{sc.name}</td>
                  <td class="muted">{sc.cron ?? `every ${Math.round((sc.everyMs ?? 0) / 1000)} s`}</td>
                  <td>{sc.paused ? 'paused' : `next ${ago(sc.nextRunAt)}`}</td>
                  <td class="muted">last {ago(sc.lastRunAt)}</td>
                  <td>{sc.lastJobId && <a href={href(`/job/${sc.lastJobId}`)}>{sc.lastJobId}</a>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </div>
    </div>
  );
}

function RunningJob({ job }: { job: Job }) {
  return (
    <li class="running-job" data-job={job.id}>
      <div class="running-head">
        <a href={href(`/job/${job.id}`)}>{job.id}</a>
        <span class="muted">
          {job.template ?? job.kind} · {job.queue} · {job.lease?.worker ?? ''} · started {ago(job.startedAt)}
        </span>
      </div>
      <ProgressBar progress={progressSignal(job.id, job.progress)} />
    </li>
  );
}
