import { useEffect, useRef, useState } from 'preact/hooks';
import { isFinalState } from '../../../src/core/job.js';
import type { JobDetail, ListAnswer, LogsAnswer } from '../../../src/protocol/messages.js';
import { ROUTES } from '../../../src/protocol/routes.js';
import { get, post, session } from '../api.js';
import { ago, duration, time } from '../format.js';
import { useData } from '../hooks.js';
import { onJobEvent, progressSignal } from '../live.js';
import { href } from '../router.js';
import { Note, ProgressBar, StateBadge } from '../ui.js';


export function JobPage({ id }: { id: string }) {
  const detail = useData(() => get<JobDetail>(ROUTES.job.path(id)), [id]);
  const children = useData(() => get<ListAnswer>(ROUTES.list.path(new URLSearchParams({ parent: id, limit: '200' }))), [id]);
  const [note, setNote] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  useEffect(
    () =>
      onJobEvent((e) => {
        if (e.id === id) detail.reload();
        else if (children.data?.jobs.some((c) => c.id === e.id)) children.reload();
      }),
    [id, children.data],
  );
  const d = detail.data;
  if (detail.error && !d) return <Note>{detail.error}</Note>;
  if (!d) return <p class="muted">…</p>;
  const j = d.job;
  const admin = session.value?.role === 'admin';
  const act = async (action: 'cancel' | 'retry') => {
    try {
      await post(action === 'cancel' ? ROUTES.cancel.path(id) : ROUTES.retry.path(id));
      setNote({ kind: 'ok', text: action === 'cancel' ? 'Canceled.' : 'Queued again.' });
      detail.reload();
    } catch (e) {
      setNote({ kind: 'error', text: (e as Error).message });
    }
  };
  return (
    <div class="job">
      <header class="job-head">
        <h2>
          {j.id} <StateBadge state={j.state} />
        </h2>
        {admin && (
          <div class="actions">
            {!isFinalState(j.state) && (
              <button type="button" onClick={() => act('cancel')}>
                Cancel
              </button>
            )}
            {(j.state === 'failed' || j.state === 'timed_out' || j.state === 'canceled') && (
              <button type="button" onClick={() => act('retry')}>
                Retry
              </button>
            )}
          </div>
        )}
      </header>
      {note && <Note kind={note.kind}>{note.text}</Note>}
      {d.waiting && <Note kind="info">Waiting: {d.waiting}</Note>}
      {j.stopReason && j.state === 'running' && <Note kind="info">Asked to stop ({j.stopReason}); waiting for the worker.</Note>}
      {j.state === 'running' && (
        <section class="card">
          <h3>Progress</h3>
          <ProgressBar progress={progressSignal(j.id, j.progress)} />
          <p class="muted">
            attempt {j.attempt} of {j.maxAttempts} on {j.lease?.worker} · started {ago(j.startedAt)}
            {j.timeLimitMs ? ` · time limit ${duration(j.timeLimitMs / 1000)}` : ''}
          </p>
        </section>
      )}
      {j.error && (
        <section class="card">
          <h3>Error</h3>
          <pre class="error-text">{j.error}</pre>
        </section>
      )}
      <div class="two">
        <section class="card">
          <h3>Job</h3>
          <dl class="kv">
            <dt>{j.template ? 'Template' : 'Kind'}</dt>
            <dd>{j.template ?? j.kind}</dd>
            <dt>Queue</dt>
            <dd>{j.queue}</dd>
            <dt>Owner</dt>
            <dd>{j.owner ?? '–'}</dd>
            <dt>Tags</dt>
            <dd>{j.tags.length ? j.tags.map((t) => <a key={t} class="tag" href={href('/jobs', { tag: t })}>{t}</a>) : '–'}</dd>
            <dt>Priority</dt>
            <dd>{j.priority}</dd>
            <dt>Created</dt>
            <dd>{time(j.createdAt)}</dd>
            <dt>Run at</dt>
            <dd>{time(j.runAt)}</dd>
            <dt>Finished</dt>
            <dd>{time(j.finishedAt)}</dd>
            {j.concurrencyKey && (
              <>
                <dt>Key</dt>
                <dd>
                  {j.concurrencyKey} (limit {j.concurrencyLimit})
                </dd>
              </>
            )}
            {j.parentId && (
              <>
                <dt>Parent</dt>
                <dd>
                  <a href={href(`/job/${j.parentId}`)}>{j.parentId}</a>
                </dd>
              </>
            )}
          </dl>
        </section>
        <section class="card">
          <h3>Params</h3>
          <table class="list params" data-testid="params">
            <tbody>
              {Object.entries(j.params).map(([k, v]) => (
                <tr key={k}>
                  <th>{k}</th>
                  <td class={j.secrets.includes(k) ? 'secret' : ''}>{String(v)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </div>
      {j.result !== null && j.result !== undefined && (
        <section class="card">
          <h3>Result</h3>
          <Result value={j.result} />
        </section>
      )}
      <section class="card">
        <h3>Attempts</h3>
        {d.attempts.length === 0 ? (
          <p class="muted">Not started yet.</p>
        ) : (
          <table class="list">
            <thead>
              <tr>
                <th>#</th>
                <th>Worker</th>
                <th>Started</th>
                <th>Took</th>
                <th>Outcome</th>
                <th>Error</th>
              </tr>
            </thead>
            <tbody>
              {d.attempts.map((a) => (
                <tr key={a.attempt}>
                  <td>{a.attempt}</td>
                  <td>{a.worker}</td>
                  <td>{time(a.startedAt)}</td>
                  <td>{a.endedAt ? duration((a.endedAt - a.startedAt) / 1000) : 'running'}</td>
                  <td>{a.outcome ? <StateBadge state={a.outcome} /> : ''}</td>
                  <td class="error-text">{a.error ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {children.data && children.data.jobs.length > 0 && (
        <section class="card">
          <h3>
            Children <a href={href('/jobs', { parent: j.id })}>all</a>
          </h3>
          <ul class="plain">
            {children.data.jobs.map((c) => (
              <li key={c.id}>
                <a href={href(`/job/${c.id}`)}>{c.id}</a> <StateBadge state={c.state} /> <span class="muted">{c.error ?? ''}</span>
              </li>
            ))}
          </ul>
        </section>
      )}
      <LogTail id={j.id} />
    </div>
  );
}

/** A job's result: files delivered and checksums as a list, anything else as JSON. */
function Result({ value }: { value: unknown }) {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return (
      <dl class="kv">
        {Object.entries(value as Record<string, unknown>).map(([k, v]) => (
          <>
            <dt key={`k-${k}`}>{k}</dt>
            <dd key={`v-${k}`}>{typeof v === 'object' ? <pre>{JSON.stringify(v, null, 2)}</pre> : String(v)}</dd>
          </>
        ))}
      </dl>
    );
  }
  return <pre>{JSON.stringify(value, null, 2)}</pre>;
}

/** The job's log, followed live by long polls while the job runs (its lines arrive redacted). */
function LogTail({ id }: { id: string }) {
  const [lines, setLines] = useState<Array<{ seq: number; stream: string; text: string }>>([]);
  const [error, setError] = useState<string | null>(null);
  const box = useRef<HTMLPreElement>(null);
  useEffect(() => {
    let stopped = false;
    // Leaving the page ends its long poll at once: a browser has few connections to a host.
    const ac = new AbortController();
    let after = 0;
    setLines([]);
    (async () => {
      while (!stopped) {
        try {
          const a = await get<LogsAnswer>(ROUTES.readLogs.path(id, after, 500, 25_000), ac.signal);
          if (stopped) return;
          if (a.chunks.length > 0) {
            after = a.next;
            // The last 2000 chunks are kept: the tail, not the whole log.
            setLines((old) => [...old, ...a.chunks.map((c) => ({ seq: c.seq, stream: c.stream, text: c.text }))].slice(-2000));
          } else if (isFinalState(a.state)) return;
          setError(null);
        } catch (e) {
          if (stopped) return;
          setError((e as Error).message);
          await new Promise((r) => setTimeout(r, 3000));
        }
      }
    })();
    return () => {
      stopped = true;
      ac.abort();
    };
  }, [id]);
  useEffect(() => {
    const el = box.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [lines]);
  return (
    <section class="card">
      <h3>Log</h3>
      {error && <Note>{error}</Note>}
      <pre class="log" ref={box} data-testid="log">
        {lines.length === 0 ? <span class="muted">No output yet.</span> : lines.map((l) => <span key={l.seq} class={`log-${l.stream}`}>{l.text}</span>)}
      </pre>
    </section>
  );
}
