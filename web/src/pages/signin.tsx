import { useState } from 'preact/hooks';
import type { SessionAnswer } from '../../../src/protocol/messages.js';
import { ROUTES } from '../../../src/protocol/routes.js';
import { ApiError, post, session } from '../api.js';
import { Note } from '../ui.js';

/** Sign-in with a token (the admin token, or a read token to look only); the coordinator sets an http-only cookie. */
export function SignIn() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form
      class="card signin"
      onSubmit={async (e) => {
        e.preventDefault();
        const input = e.currentTarget.elements.namedItem('token') as HTMLInputElement;
        setBusy(true);
        try {
          session.value = await post<SessionAnswer>(ROUTES.signIn.path(), { token: input.value.trim() });
          setError(null);
        } catch (err) {
          setError(err instanceof ApiError ? err.message : String(err));
        } finally {
          input.value = '';
          setBusy(false);
        }
      }}
    >
      <h2>Sign in</h2>
      <p class="muted">This coordinator checks tokens. Paste the admin token (the admin: line of the token file, or one made with drover token add --role admin); a read token shows everything but changes nothing.</p>
      <label>
        <span>Token</span>
        <input name="token" type="password" autocomplete="current-password" required autofocus />
      </label>
      <button type="submit" disabled={busy}>
        Sign in
      </button>
      {error && <Note>{error}</Note>}
    </form>
  );
}
