import { signal, type Signal } from '@preact/signals';
import type { Progress } from '../../src/core/job.js';
import { ROUTES } from '../../src/protocol/routes.js';

export interface JobEvent {
  id: string;
  state: string;
  queue: string | null;
  error?: string;
}

/** Whether the event stream is connected. */
export const connected = signal(false);
/** Bumped on every job state change and worker join or leave: views that list jobs read again (debounced). */
export const changes = signal(0);

/** The jobs whose progress the page keeps, at most. */
const MAX_TRACKED = 5_000;

/** Per job: its latest progress, a signal of its own, so a bar re-renders alone when its job moves. */
const progressOf = new Map<string, Signal<Progress | null>>();
type JobListener = (e: JobEvent) => void;
const jobListeners = new Set<JobListener>();
let source: EventSource | null = null;

/** The live progress of a job: a signal the page reads in the bar (created empty). */
export function progressSignal(id: string, initial: Progress | null = null): Signal<Progress | null> {
  let s = progressOf.get(id);
  if (!s) {
    s = signal(initial);
    progressOf.set(id, s);
    // Jobs that end through another coordinator send no event here: the oldest are let go.
    while (progressOf.size > MAX_TRACKED) progressOf.delete(progressOf.keys().next().value as string);
  } else if (initial && !s.value) s.value = initial;
  return s;
}

/** Calls `fn` with each job event until the returned function is called. */
export function onJobEvent(fn: JobListener): () => void {
  jobListeners.add(fn);
  return () => jobListeners.delete(fn);
}

/**
 * Opens `GET /api/v1/events` once for the page. Progress goes to the job's signal; state changes
 * bump `changes` and reach the listeners. EventSource reconnects by itself after an error.
 */
export function connectLive(): void {
  if (source) return;
  source = new EventSource(ROUTES.events.path());
  source.onopen = () => {
    connected.value = true;
    changes.value++;
  };
  source.onerror = () => {
    connected.value = false;
  };
  source.addEventListener('progress', (m) => {
    const d = JSON.parse((m as MessageEvent<string>).data) as { id: string; progress: Progress };
    progressSignal(d.id).value = d.progress;
  });
  source.addEventListener('job', (m) => {
    const d = JSON.parse((m as MessageEvent<string>).data) as JobEvent;
    if (d.state !== 'running') progressOf.delete(d.id);
    for (const fn of jobListeners) fn(d);
    changes.value++;
  });
  source.addEventListener('worker', () => {
    changes.value++;
  });
}

export function disconnectLive(): void {
  source?.close();
  source = null;
  connected.value = false;
}
