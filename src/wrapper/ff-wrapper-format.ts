/**
 * FF WRAPPER's answers, byte for byte, so scripts written for it keep working (its
 * http_server.py): log lines as `<YYYY-MM-DD HH:MM:SS> line` in local time, `?json` as
 * `[["YYYY-MM-DD HH:MM:SS", "line"], ...]` the way Python's json.dumps writes it, one progress
 * entry per `-progress` block with its `key=value` pairs on one line.
 */

/** `YYYY-MM-DD HH:MM:SS` in local time (Python's `%Y-%m-%d %H:%M:%S`). Cached per second. */
export const localTime = (() => {
  let lastSec = NaN;
  let last = '';
  const p = (n: number) => (n < 10 ? `0${n}` : String(n));
  return (ms: number): string => {
    const sec = Math.floor(ms / 1000);
    if (sec !== lastSec) {
      const d = new Date(sec * 1000);
      last = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
      lastSec = sec;
    }
    return last;
  };
})();

/** `/last_stdout` and `/last_progress` as text: one `<time> line` per entry. Output lines lose their outer spaces. */
export function linesText(entries: Array<[number, string]>): string {
  let out = '';
  for (const [ms, line] of entries) out += `<${localTime(ms)}> ${line.trim()}\n`;
  return out;
}

/** The same as JSON, written as Python's json.dumps does: `", "` between items, non-ASCII as \uXXXX. */
export function linesJson(entries: Array<[number, string]>): string {
  return `[${entries.map(([ms, line]) => `[${pyString(localTime(ms))}, ${pyString(line.trim())}]`).join(', ')}]`;
}

function pyString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The query as FF WRAPPER reads it: `count` (default 20; 0 or less is all; not an integer is an
 * error) and `json` (present, with any value or none, asks for JSON).
 */
export function linesQuery(search: string): { count: number; json: boolean } | { error: string } {
  let count = 20;
  let json = false;
  for (const part of search.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    if (key === 'json') json = true;
    if (key === 'count') {
      // A bare `count` is Python's True, which int() reads as 1.
      const v = eq < 0 ? '1' : part.slice(eq + 1).trim();
      if (!/^[-+]?\d+$/.test(v)) return { error: 'count must be int\n' };
      count = Number(v);
    }
  }
  return { count: count > 0 ? count : 0, json };
}
