import fs from 'node:fs';
import { parseDuration, parseTime } from '../core/duration.js';
import { ValidationError } from '../core/errors.js';
import { mirrorPass, type MirrorOptions, type MirrorSummary } from '../segments/mirror.js';
import { hourStart } from '../segments/segment-name.js';
import { isPathPart } from '../segments/tree.js';
import { table } from './format.js';

interface MirrorFlags {
  from?: string;
  base?: string;
  channels?: string;
  qualities?: string;
  hours?: string;
  start?: string;
  order?: string;
  recentCutoff?: string;
  concurrency?: string;
  backoff?: string;
  json?: boolean;
}

/** The names of a comma-separated flag, each a plain path part. */
function namesOf(v: string | undefined, flag: string): string[] {
  if (v === undefined) throw new ValidationError(`${flag}: required (comma-separated, e.g. ${flag} source,480p)`);
  const names = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new ValidationError(`${flag}: give at least one name`);
  for (const n of names) if (!isPathPart(n)) throw new ValidationError(`${flag}: "${n}" is not a plain name`);
  return names;
}

export function mirrorOptionsOf(f: MirrorFlags, now = Date.now()): MirrorOptions {
  if (!f.from) throw new ValidationError('--from: required: the peers\' segment server URLs, comma-separated');
  const from = f.from.split(',').map((s) => s.trim()).filter(Boolean);
  for (const u of from) {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw new ValidationError(`--from: "${u.replace(/\/\/[^/@]*@/, '//***@')}" is not a URL (expected http://HOST:PORT)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ValidationError(`--from: ${url.protocol} is not http: or https:`);
  }
  if (!f.base) throw new ValidationError('--base: required: the local segment tree (DIR/CHANNEL/QUALITY/HOUR/NAME.ts)');
  if (fs.existsSync(f.base) && !fs.statSync(f.base).isDirectory()) throw new ValidationError(`--base: ${f.base} is not a directory`);
  let hours: MirrorOptions['hours'] = 'all';
  if (f.hours !== undefined && f.hours !== 'all') {
    if (/^\d+$/.test(f.hours)) {
      hours = Number(f.hours);
      if (hours < 1) throw new ValidationError('--hours: a number of hours must be 1 or more');
    } else {
      hours = f.hours.split(',').map((h) => h.trim());
      for (const h of hours) if (hourStart(h) === null) throw new ValidationError(`--hours: "${h}" is not an hour (expected all, a number, or hours like 2019-11-13T02)`);
    }
  }
  const order = f.order ?? 'random';
  if (order !== 'random' && order !== 'forward' && order !== 'reverse') throw new ValidationError(`--order: expected random, forward or reverse, got "${order}"`);
  const concurrency = f.concurrency === undefined ? undefined : Number(f.concurrency);
  if (concurrency !== undefined && (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 64)) throw new ValidationError(`--concurrency: expected an integer from 1 to 64, got "${f.concurrency}"`);
  return {
    base: f.base,
    from,
    channels: namesOf(f.channels, '--channels'),
    qualities: namesOf(f.qualities, '--qualities'),
    hours,
    order,
    ...(f.start !== undefined ? { start: parseTime(f.start, '--start', now, -1) } : {}),
    ...(f.recentCutoff !== undefined ? { recentCutoffMs: parseDuration(f.recentCutoff, '--recent-cutoff') } : {}),
    ...(concurrency !== undefined ? { concurrency } : {}),
    ...(f.backoff !== undefined ? { backoffMs: parseDuration(f.backoff, '--backoff') } : {}),
  };
}

export async function mirrorAction(f: MirrorFlags): Promise<void> {
  const summary = await mirrorPass(mirrorOptionsOf(f));
  process.stdout.write(f.json ? JSON.stringify(summary, null, 2) + '\n' : describeSummary(summary));
  if (!summary.ok) {
    for (const p of summary.peers) {
      if (!p.listed) process.stderr.write(`drover: ${p.peer}: not listed: ${p.errors.at(-1) ?? 'stopped'}\n`);
    }
    for (const rel of summary.stillMissing.slice(0, 20)) process.stderr.write(`drover: still missing: ${rel}\n`);
    if (summary.stillMissing.length > 20) process.stderr.write(`drover: … and ${summary.stillMissing.length - 20} more still missing\n`);
    process.exitCode = 1;
  }
}

function describeSummary(s: MirrorSummary): string {
  const rows = s.peers.map((p) => [p.peer, p.listed ? 'yes' : 'NO', String(p.hours), String(p.missing), String(p.fetched), String(p.bytes), String(p.hashMismatches), String(p.tombstones), String(p.errors.length)]);
  const lines = [table(['PEER', 'LISTED', 'HOURS', 'MISSING', 'FETCHED', 'BYTES', 'HASH MISMATCHES', 'TOMBSTONES', 'ERRORS'], rows)];
  for (const p of s.peers) for (const e of p.errors.slice(0, 5)) lines.push(`${p.peer}: ${e}`);
  lines.push(s.ok ? 'complete: every peer listed, every wanted segment in place' : `incomplete: ${s.stillMissing.length} wanted segments missing${s.peers.some((p) => !p.listed) ? ', a peer not listed' : ''}`);
  return lines.join('\n') + '\n';
}
