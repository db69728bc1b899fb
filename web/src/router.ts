import { signal } from '@preact/signals';

/** The page's place: `#/jobs?state=running` → { path: '/jobs', query }. */
export interface Route {
  path: string;
  query: URLSearchParams;
}

function parse(): Route {
  const h = location.hash.replace(/^#/, '') || '/';
  const i = h.indexOf('?');
  return { path: i < 0 ? h : h.slice(0, i), query: new URLSearchParams(i < 0 ? '' : h.slice(i + 1)) };
}

export const route = signal<Route>(parse());
window.addEventListener('hashchange', () => {
  route.value = parse();
});

/** A link target within the page. */
export function href(path: string, query?: URLSearchParams | Record<string, string>): string {
  const q = query instanceof URLSearchParams ? query : new URLSearchParams(query ?? {});
  const s = q.toString();
  return `#${path}${s ? `?${s}` : ''}`;
}

/** Moves the page; the route changes at once, not at the later hashchange, so a control never shows its old value in between. */
export function go(path: string, query?: URLSearchParams | Record<string, string>): void {
  location.hash = href(path, query).slice(1);
  route.value = parse();
}
