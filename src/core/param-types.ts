import { quoted, ValidationError } from './errors.js';
import type { ParamValue } from './job.js';

/** What a template param holds: a plain value, a number, a flag, or a file name or relative path (checked). */
export const PARAM_TYPES = ['string', 'integer', 'number', 'boolean', 'name', 'path'] as const;
export type ParamType = (typeof PARAM_TYPES)[number];

const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Checks a param's value against its type; a ValidationError names `field`. `name` is one file
 * name: no `/` or `\`, not `.` or `..`, no control characters, at most 255 bytes. `path` is a
 * relative path below where the template puts it: not absolute, no `..` part, no control
 * characters, at most 4095 bytes. Both keep a value from outside from leaving the directory a
 * template writes into (`{outdir}/{name}`).
 */
export function checkParamType(type: ParamType, v: ParamValue, field: string): void {
  const fail = (msg: string): never => {
    throw new ValidationError(`${field}: ${msg}, got ${quoted(v)}`, field);
  };
  switch (type) {
    case 'string':
      return;
    case 'integer':
      if (!Number.isInteger(typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v)) fail('must be an integer');
      return;
    case 'number':
      if (!Number.isFinite(typeof v === 'string' && v.trim() !== '' ? Number(v) : v)) fail('must be a number');
      return;
    case 'boolean':
      if (typeof v !== 'boolean' && v !== 'true' && v !== 'false') fail('must be true or false');
      return;
    case 'name': {
      const s = String(v);
      if (s === '' || s === '.' || s === '..' || /[/\\]/.test(s) || CONTROL.test(s)) fail('must be a file name (no / or \\, not . or .., no control characters)');
      if (Buffer.byteLength(s) > 255) fail('must be a file name of at most 255 bytes');
      return;
    }
    case 'path': {
      const s = String(v);
      if (s === '' || CONTROL.test(s)) fail('must be a relative path without control characters');
      if (/^([/\\]|[A-Za-z]:)/.test(s)) fail('must be a relative path, not an absolute one');
      if (s.split(/[/\\]/).includes('..')) fail('must be a relative path without .. parts');
      if (Buffer.byteLength(s) > 4095) fail('must be a path of at most 4095 bytes');
      return;
    }
  }
}
