import { useEffect, useState } from 'preact/hooks';
import { FINAL_STATES, isFinalState, type Job, type JobState } from '../../../src/core/job.js';
import type { BulkAnswer, CountsAnswer, ListAnswer } from '../../../src/protocol/messages.js';
import { ROUTES } from '../../../src/protocol/routes.js';
import { get, post, session } from '../api.js';
import { ago } from '../format.js';
import { useData } from '../hooks.js';
import { progressSignal } from '../live.js';
import { go, href, route } from '../router.js';
import { Note, ProgressBar, SHOWN_STATES, StateBadge } from '../ui.js';

const FIELDS = [
  ['q', 'Search id, params, error'],
  ['queue', 'Queue'],
  ['owner', 'Owner'],
  ['template', 'Template'],
  ['kind', 'Kind'],
  ['tag', 'Tag'],
] as const;
const PAGE = 50;

/** The filter of the jobs table: what the hash's query says (state, queue, owner, … sort, order). */
function filterOf(q: URLSearchParams): URLSearchParams {
  const f = new URLSearchParams();
  for (const k of ['state', 'q', 'queue', 'owner', 'template', 'kind', 'tag', 'parent', 'worker', 'sort', 'order']) {
    const v = q.get(k);
    if (v) f.set(k, v);
  }
  return f;
}

export function Jobs() {
  const q = route.value.query;
  const filter = filterOf(q);
  const cursor = q.get('cursor');
  const key = `${filter}|${cursor}`;
  const page = useData(() => get<ListAnswer>(ROUTES.list.path(withPage(filter, cursor))), [key], { live: true });
  // Counts scan what the filter matches: on a change of filter and every 10 s, not on each event.
  const counts = useData(() => get<CountsAnswer>(ROUTES.counts.path(countQuery(filter))), [filter.toString()], { everyMs: 10_000 });
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [allMatching, setAllMatching] = useState(false);
  const [outcome, setOutcome] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  // Another filter (the form, a link, back and forward) is another set of jobs: nothing stays chosen.
  useEffect(() => {
    setSelected(new Set());
    setAllMatching(false);
  }, [filter.toString()]);
  const admin = session.value?.role === 'admin';
  const states = new Set((filter.get('state') ?? '').split(',').filter(Boolean));
  const matching = counts.data ? Object.entries(counts.data.counts).reduce((n, [s, c]) => (states.size === 0 || states.has(s) ? n + c : n), 0) : null;

  const set = (k: string, v: string | null) => setMany({ [k]: v });
  const setMany = (changes: Record<string, string | null>) => {
    const next = filterOf(q);
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    setSelected(new Set());
    setAllMatching(false);
    go('/jobs', next);
  };
  const byFinish = filter.get('sort') === 'finished';
  const desc = filter.get('order') === 'desc';
  // By finish time lists finished jobs only: the state boxes say so (the finished ones chosen, or all of them).
  const sortByFinish = () => {
    if (byFinish) return set('order', desc ? null : 'desc');
    const finished = [...states].filter((s) => isFinalState(s as JobState));
    setMany({ sort: 'finished', order: 'desc', state: (finished.length > 0 ? finished : FINAL_STATES).join(',') });
  };
  const toggleState = (s: string) => {
    const next = new Set(states);
    if (next.has(s)) next.delete(s);
    else next.add(s);
    set('state', [...next].join(','));
  };
  const bulk = async (action: 'cancel' | 'retry') => {
    const body = allMatching ? { action, filter: bulkFilter(filter) } : { action, ids: [...selected] };
    const what = allMatching ? `all ${matching ?? ''} matching jobs` : `${selected.size} job${selected.size === 1 ? '' : 's'}`;
    if (!window.confirm(`${action === 'cancel' ? 'Cancel' : 'Retry'} ${what}?`)) return;
    try {
      const a = await post<BulkAnswer>(ROUTES.bulk.path(), body);
      setOutcome({ kind: a.failed.length > 0 ? 'error' : 'ok', text: `${action === 'cancel' ? 'Canceled' : 'Retried'} ${a.changed} of ${a.matched}${a.failed.length > 0 ? `; not changed: ${a.failed.slice(0, 5).map((f) => `${f.id} (${f.error})`).join('; ')}${a.matched - a.changed > 5 ? '…' : ''}` : ''}` });
      setSelected(new Set());
      setAllMatching(false);
      page.reload();
      counts.reload();
    } catch (e) {
      setOutcome({ kind: 'error', text: (e as Error).message });
    }
  };
  const jobs = page.data?.jobs ?? [];
  const allOnPage = jobs.length > 0 && jobs.every((j) => selected.has(j.id));

  return (
    <div class="jobs">
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          const data = new FormData(e.currentTarget);
          const next = filterOf(q);
          for (const [k] of FIELDS) {
            const v = String(data.get(k) ?? '').trim();
            if (v) next.set(k, v);
            else next.delete(k);
          }
          go('/jobs', next);
        }}
      >
        {FIELDS.map(([k, label]) => (
          <label key={`${k}-${filter.get(k) ?? ''}`} class={k === 'q' ? 'wide' : ''}>
            <span>{label}</span>
            <input name={k} defaultValue={filter.get(k) ?? ''} type={k === 'q' ? 'search' : 'text'} />
          </label>
        ))}
        <button type="submit">Filter</button>
        <div class="state-filter" role="group" aria-label="States">
          {SHOWN_STATES.map((s) => (
            <label key={s} class="check">
              <input type="checkbox" checked={states.has(s)} onChange={() => toggleState(s)} /> {s.replace('_', ' ')}
            </label>
          ))}
        </div>
      </form>

      {(['parent', 'worker'] as const).map((k) => {
        const v = filter.get(k);
        return v ? (
          <span key={k} class="chip">
            {k === 'parent' ? 'children of' : 'run on'} {v}{' '}
            <button type="button" class="link" aria-label={`Clear the ${k} filter`} onClick={() => set(k, null)}>
              ✕
            </button>
          </span>
        ) : null;
      })}
      <div class="table-head">
        <span data-testid="matching">{matching === null ? '' : `${matching.toLocaleString()} matching`}</span>
        {admin && (
          <span class="bulk">
            {allMatching ? (
              <span>All {matching?.toLocaleString()} matching selected. </span>
            ) : selected.size > 0 ? (
              <span>
                {selected.size} selected.{' '}
                {matching !== null && matching > selected.size && (
                  <button type="button" class="link" onClick={() => setAllMatching(true)}>
                    Select all {matching.toLocaleString()} matching
                  </button>
                )}
              </span>
            ) : null}
            <button type="button" disabled={!allMatching && selected.size === 0} onClick={() => bulk('cancel')}>
              Cancel
            </button>
            <button type="button" disabled={!allMatching && selected.size === 0} onClick={() => bulk('retry')}>
              Retry
            </button>
          </span>
        )}
      </div>
      {outcome && <Note kind={outcome.kind}>{outcome.text}</Note>}
      {page.error && <Note>{page.error}</Note>}

      <div class="scroll">
        <table class="list jobs-table">
          <thead>
            <tr>
              {admin && (
                <th class="sel">
                  <input
                    type="checkbox"
                    aria-label="Select this page"
                    checked={allOnPage}
                    onChange={() => {
                      setAllMatching(false);
                      setSelected(allOnPage ? new Set() : new Set(jobs.map((j) => j.id)));
                    }}
                  />
                </th>
              )}
              <th>
                <button type="button" class="link sort" onClick={() => setMany({ sort: null, order: byFinish || !desc ? 'desc' : null })} aria-label="Sort by creation">
                  Job {byFinish ? '' : desc ? '▼ newest first' : '▲ oldest first'}
                </button>
              </th>
              <th>State</th>
              <th>Template / kind</th>
              <th>Queue</th>
              <th>Owner</th>
              <th>Progress / error</th>
              <th>Updated</th>
              <th>
                <button type="button" class="link sort" onClick={sortByFinish} aria-label="Sort by finish time">
                  Finished {byFinish ? (desc ? '▼ latest first' : '▲ earliest first') : ''}
                </button>
              </th>
            </tr>
          </thead>
          <tbody>
            {jobs.map((j) => (
              <JobRow key={j.id} job={j} admin={admin} checked={allMatching || selected.has(j.id)} waiting={page.data?.waiting?.[j.id]} onToggle={() => {
                setAllMatching(false);
                const next = new Set(selected);
                if (next.has(j.id)) next.delete(j.id);
                else next.add(j.id);
                setSelected(next);
              }} />
            ))}
          </tbody>
        </table>
      </div>
      {page.data && jobs.length === 0 && <p class="muted">No jobs match.</p>}
      <nav class="pager">
        {cursor && (
          <a href={href('/jobs', filter)} class="button">
            ⇤ First page
          </a>
        )}
        {page.data?.nextCursor && (
          <a href={href('/jobs', withPage(filter, page.data.nextCursor, false))} class="button" data-testid="next-page">
            Next page ⇥
          </a>
        )}
      </nav>
    </div>
  );
}

function JobRow({ job, admin, checked, waiting, onToggle }: { job: Job; admin: boolean; checked: boolean; waiting: string | undefined; onToggle: () => void }) {
  return (
    <tr data-job={job.id}>
      {admin && (
        <td class="sel">
          <input type="checkbox" aria-label={`Select ${job.id}`} checked={checked} onChange={onToggle} />
        </td>
      )}
      <td>
        <a href={href(`/job/${job.id}`)}>{job.id}</a>
      </td>
      <td>
        <StateBadge state={job.state} />
      </td>
      <td>{job.template ?? job.kind}</td>
      <td>{job.queue}</td>
      <td>{job.owner ?? ''}</td>
      <td class="wide-cell">
        {job.state === 'running' ? <ProgressBar progress={progressSignal(job.id, job.progress)} /> : job.error ? <span class="error-text">{job.error}</span> : waiting ? <span class="muted">{waiting}</span> : ''}
      </td>
      <td class="muted">{ago(job.updatedAt)}</td>
      <td class="muted">{job.finishedAt === null ? '' : ago(job.finishedAt)}</td>
    </tr>
  );
}

function withPage(filter: URLSearchParams, cursor: string | null, limit = true): URLSearchParams {
  const q = new URLSearchParams(filter);
  if (cursor) q.set('cursor', cursor);
  if (limit) q.set('limit', String(PAGE));
  return q;
}

/** The list filter without what counts do not take (state: counted per state; sort, order). */
function countQuery(filter: URLSearchParams): URLSearchParams {
  const q = new URLSearchParams(filter);
  q.delete('state');
  q.delete('sort');
  q.delete('order');
  return q;
}

/** The filter as the bulk route takes it (JSON, states as a list). */
function bulkFilter(filter: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of filter) {
    if (k === 'order' || k === 'sort') continue;
    out[k] = k === 'state' ? v.split(',') : v;
  }
  return out;
}
