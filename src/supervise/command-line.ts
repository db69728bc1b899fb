import { REDACTED } from '../core/job.js';

/**
 * The command line as a person would type it into a shell, for the job's log only (the command
 * itself is never run through a shell). `redact` hides secrets inside each argument; the
 * redaction marker is left unquoted so it reads as a marker, not as part of the value.
 */
export function formatCommandLine(argv: readonly string[], redact: (text: string) => string = (t) => t): string {
  return argv
    .map((arg) => {
      const hidden = redact(arg);
      if (hidden === arg) return shellQuote(arg);
      return hidden
        .split(REDACTED)
        .map((piece) => (piece === '' ? '' : shellQuote(piece)))
        .join(REDACTED);
    })
    .join(' ');
}

/** Quotes `a` for a POSIX shell when it holds anything but plainly safe characters. */
export function shellQuote(a: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}
