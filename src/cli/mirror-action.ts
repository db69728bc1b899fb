import fs from 'node:fs';
import { ValidationError } from '../core/errors.js';
import { mirrorPass, type MirrorOptions, type MirrorSummary } from '../segments/mirror.js';
import { mirrorSettingsOf, peerUrlsOf, type MirrorFields } from '../segments/mirror-options.js';
import { caOf } from './client-context.js';
import { table } from './format.js';

interface MirrorFlags extends MirrorFields {
  base?: string;
  caFile?: string;
  json?: boolean;
}

const FLAGS: Record<keyof MirrorFields, string> = {
  from: '--from', channels: '--channels', qualities: '--qualities', hours: '--hours', start: '--start', order: '--order',
  recentCutoff: '--recent-cutoff', concurrency: '--concurrency', backoff: '--backoff',
};

export function mirrorOptionsOf(f: MirrorFlags, now = Date.now()): MirrorOptions {
  if (!f.from) throw new ValidationError("--from: required: the peers' segment server URLs, comma-separated");
  const from = peerUrlsOf(f.from, '--from');
  if (!f.base) throw new ValidationError('--base: required: the local segment tree (DIR/CHANNEL/QUALITY/HOUR/NAME.ts)');
  if (fs.existsSync(f.base) && !fs.statSync(f.base).isDirectory()) throw new ValidationError(`--base: ${f.base} is not a directory`);
  const ca = caOf(f);
  return { base: f.base, from, ...(ca ? { ca } : {}), ...mirrorSettingsOf(f, (k) => FLAGS[k], now) };
}

export async function mirrorAction(f: MirrorFlags): Promise<void> {
  const summary = await mirrorPass(mirrorOptionsOf(f));
  process.stdout.write(f.json ? JSON.stringify(summary, null, 2) + '\n' : describeSummary(summary));
  if (!summary.ok) {
    for (const p of summary.peers) {
      if (!p.listed) process.stderr.write(`drover: ${p.peer}: not listed: ${p.errors.at(-1) ?? 'stopped'}\n`);
      else if (p.left) process.stderr.write(`drover: ${p.peer}: left after ${p.errorCount} errors: ${p.errors.at(-1) ?? ''}\n`);
    }
    for (const rel of summary.stillMissing.slice(0, 20)) process.stderr.write(`drover: still missing: ${rel}\n`);
    if (summary.stillMissing.length > 20) process.stderr.write(`drover: … and ${summary.stillMissing.length - 20} more still missing\n`);
    process.exitCode = 1;
  }
}

function describeSummary(s: MirrorSummary): string {
  const rows = s.peers.map((p) => [p.peer, p.listed ? 'yes' : 'NO', String(p.hours), String(p.missing), String(p.fetched), String(p.bytes), String(p.hashMismatches), String(p.tombstones), String(p.errorCount)]);
  const lines = [table(['PEER', 'LISTED', 'HOURS', 'MISSING', 'FETCHED', 'BYTES', 'HASH MISMATCHES', 'TOMBSTONES', 'ERRORS'], rows)];
  for (const p of s.peers) for (const e of p.errors.slice(0, 5)) lines.push(`${p.peer}: ${e}`);
  if (s.staleTempsRemoved > 0) lines.push(`removed ${s.staleTempsRemoved} temp segments over an hour old (left by a crash)`);
  lines.push(s.ok ? 'complete: every peer listed, every wanted segment in place' : `incomplete: ${s.stillMissing.length} wanted segments missing${s.peers.some((p) => !p.listed) ? ', a peer not listed' : ''}`);
  return lines.join('\n') + '\n';
}
