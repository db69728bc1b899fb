import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import type { SessionAnswer } from '../../src/protocol/messages.js';
import { ROUTES } from '../../src/protocol/routes.js';
import { api, get, session } from './api.js';
import { connected, connectLive, disconnectLive } from './live.js';
import { Import } from './pages/import.js';
import { JobPage } from './pages/job.js';
import { Jobs } from './pages/jobs.js';
import { Overview } from './pages/overview.js';
import { Queues } from './pages/queues.js';
import { SignIn } from './pages/signin.js';
import { Workers } from './pages/workers.js';
import { href, route } from './router.js';
import { Note } from './ui.js';
import './app.css';

const NAV = [
  ['/', 'Overview'],
  ['/jobs', 'Jobs'],
  ['/workers', 'Workers'],
  ['/queues', 'Queues'],
  ['/import', 'Import'],
] as const;

function Page() {
  const path = route.value.path;
  if (path === '/') return <Overview />;
  if (path === '/jobs') return <Jobs />;
  if (path.startsWith('/job/')) return <JobPage id={decodeURIComponent(path.slice(5))} />;
  if (path === '/workers') return <Workers />;
  if (path === '/queues') return <Queues />;
  if (path === '/import') return <Import />;
  return <Note>No page {path}.</Note>;
}

function App() {
  const s = session.value;
  const ready = s !== null && (!s.authRequired || s.signedIn);
  useEffect(() => {
    get<SessionAnswer>(ROUTES.session.path()).then(
      (a) => (session.value = a),
      () => (session.value = { authRequired: true, signedIn: false, role: null, csrf: null }),
    );
  }, []);
  useEffect(() => {
    if (ready) connectLive();
    else disconnectLive();
  }, [ready]);
  const path = route.value.path;
  return (
    <>
      <header class="top">
        <a class="brand" href="#/">
          Drover
        </a>
        {ready && (
          <nav aria-label="Pages">
            {NAV.map(([p, name]) => (
              <a key={p} href={href(p)} class={(p === '/' ? path === '/' : path.startsWith(p) || (p === '/jobs' && path.startsWith('/job/'))) ? 'on' : ''}>
                {name}
              </a>
            ))}
          </nav>
        )}
        <span class="spacer" />
        {ready && (
          <span class={connected.value ? 'live live-on' : 'live'} title={connected.value ? 'live updates on' : 'live updates reconnecting'}>
            {connected.value ? 'live' : 'offline'}
          </span>
        )}
        {s?.authRequired && s.signedIn && (
          <button
            type="button"
            class="link"
            onClick={async () => {
              session.value = await api<SessionAnswer>('DELETE', ROUTES.signOut.path());
            }}
          >
            Sign out{s.role === 'read' ? ' (read-only)' : ''}
          </button>
        )}
      </header>
      <main>{s === null ? <p class="muted">…</p> : ready ? <Page /> : <SignIn />}</main>
    </>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
