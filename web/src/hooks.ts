import { useEffect, useRef, useState } from 'preact/hooks';
import { changes } from './live.js';

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  reload(): void;
}

/**
 * Data from the API: read when `deps` change, again (at most once a second) after live changes
 * when `live`, and every `everyMs` when given. An answer that comes back after a newer request is dropped.
 */
export function useData<T>(load: () => Promise<T>, deps: unknown[], o: { live?: boolean; everyMs?: number } = {}): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const seq = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const run = () => {
    const n = ++seq.current;
    loadRef.current().then(
      (d) => {
        if (n !== seq.current) return;
        setData(d);
        setError(null);
      },
      (e: unknown) => {
        if (n === seq.current) setError(e instanceof Error ? e.message : String(e));
      },
    );
  };
  useEffect(run, deps);
  useEffect(() => {
    if (!o.live) return;
    let timer: number | null = null;
    let last = 0;
    let first = true;
    const stop = changes.subscribe(() => {
      // subscribe calls at once with the current value: the first read is the deps effect's.
      if (first) {
        first = false;
        return;
      }
      if (timer !== null) return;
      const wait = Math.max(0, 1000 - (Date.now() - last));
      timer = window.setTimeout(() => {
        timer = null;
        last = Date.now();
        run();
      }, wait);
    });
    return () => {
      stop();
      if (timer !== null) clearTimeout(timer);
    };
  }, [o.live]);
  useEffect(() => {
    if (!o.everyMs) return;
    const t = window.setInterval(run, o.everyMs);
    return () => clearInterval(t);
  }, [o.everyMs]);
  return { data, error, reload: run };
}
