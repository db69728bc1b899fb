import type { ParamValue, Params } from '../core/job.js';
import { sealedKeyId, SecretUnreadableError, type SecretBox } from '../core/secret-box.js';
import type { JobStore } from '../store/store.js';
import { aadOf, paramOf, type SealedIn } from './secret-params.js';

/** Jobs re-encrypted per transaction. */
export const ROTATE_BATCH = 500;

/** What a rotation did. */
export interface RotationReport {
  /** Jobs and schedules whose params were rewritten. */
  jobs: number;
  schedules: number;
  /** Values re-encrypted from another key to the new one. */
  rekeyed: number;
  /** Plaintext values (stored before encryption at rest) sealed under the new key. */
  plaintext: number;
  /** Values already under the new key (an earlier, interrupted run), left as they are. */
  already: number;
  /** Values left as they are because they cannot be opened: per key id, and whether that key was at hand (then the value was altered). */
  unreadable: Array<{ keyId: string; missingKey: boolean; count: number }>;
}

/**
 * Re-encrypts every job's secret params and every schedule's params under `box.current`, from
 * the box's other keys and from plaintext (stored before encryption at rest), a batch per
 * transaction. Resumable: values already under the new key are skipped, and a run stopped
 * midway leaves values each under one of the keys, which the box reads. Values it cannot open
 * are left alone and counted. `afterBatch` runs after each batch is written (tests stop there).
 */
export async function rotateSecrets(store: JobStore, box: SecretBox, o: { batch?: number; afterBatch?: () => void } = {}): Promise<RotationReport> {
  const r: RotationReport = { jobs: 0, schedules: 0, rekeyed: 0, plaintext: 0, already: 0, unreadable: [] };
  for (let after: string | null = null; ; ) {
    const page = await store.jobsWithSecrets({ after, limit: o.batch ?? ROTATE_BATCH });
    const last = page[page.length - 1];
    if (!last) break;
    const changed = page.flatMap((j) => {
      const params = reseal(box, j.params, j.secrets, { job: j.id }, r);
      return params ? [{ id: j.id, params }] : [];
    });
    if (changed.length > 0) r.jobs += await store.updateParams({ jobs: changed });
    o.afterBatch?.();
    after = last.id;
  }
  for (const s of await store.listSchedules()) {
    const p = s.job.params;
    if (typeof p !== 'object' || p === null || Array.isArray(p)) continue;
    const params = reseal(box, p as Params, Object.keys(p), { schedule: s.name }, r);
    if (!params) continue;
    // keepRun: the definition only; a firing's next run, last run and last job stay as they are.
    await store.putSchedule({ ...s, job: { ...s.job, params } }, { keepRun: true });
    r.schedules++;
  }
  return r;
}

/** `params` with each of `names` under the new key; null when none changed. */
function reseal(box: SecretBox, params: Params, names: readonly string[], where: SealedIn, r: RotationReport): Params | null {
  let out: Params | null = null;
  for (const name of names) {
    const v = params[name];
    if (v === undefined) continue;
    const id = sealedKeyId(v);
    if (id === box.current.id) {
      r.already++;
      continue;
    }
    const aad = aadOf(where, name);
    let plain: ParamValue;
    try {
      plain = box.open(v, aad, paramOf(where, name));
    } catch (err) {
      if (!(err instanceof SecretUnreadableError)) throw err;
      const u = r.unreadable.find((x) => x.keyId === err.keyId && x.missingKey === err.missingKey);
      if (u) u.count++;
      else r.unreadable.push({ keyId: err.keyId, missingKey: err.missingKey, count: 1 });
      continue;
    }
    if (id === null) r.plaintext++;
    else r.rekeyed++;
    out ??= { ...params };
    out[name] = box.seal(plain, aad);
  }
  return out;
}
