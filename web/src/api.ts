import { signal } from '@preact/signals';
import type { SessionAnswer } from '../../src/protocol/messages.js';

/** Who is signed in; null until the first answer. */
export const session = signal<SessionAnswer | null>(null);

/** An answer of the API that is an error: its status, message and, for bad input, the field. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/**
 * Calls the coordinator's API with the session cookie. A change carries the session's CSRF token.
 * A 401 means the session ended: the page shows the sign-in again.
 */
export async function api<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, o: { okStatuses?: number[]; signal?: AbortSignal } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const csrf = session.value?.csrf;
  if (csrf && method !== 'GET') headers['x-drover-csrf'] = csrf;
  const res = await fetch(path, { method, headers, credentials: 'same-origin', ...(o.signal ? { signal: o.signal } : {}), ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (res.ok || o.okStatuses?.includes(res.status)) return json as T;
  const err = (json as { error?: { message?: string; field?: string } } | null)?.error;
  if (res.status === 401 && session.value?.authRequired && !path.endsWith('/session')) session.value = { ...session.value, signedIn: false, csrf: null };
  throw new ApiError(res.status, err?.message ?? `${res.status} ${res.statusText}`, err?.field);
}

export const get = <T>(path: string, signal?: AbortSignal) => api<T>('GET', path, undefined, signal ? { signal } : {});
export const post = <T>(path: string, body: unknown = {}, o?: { okStatuses?: number[] }) => api<T>('POST', path, body, o);
