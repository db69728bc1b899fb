/**
 * A file name safe to create: no directories, no control characters, not hidden, not empty,
 * at most 200 bytes. Returns '' when nothing usable is left.
 */
export function sanitizeFileName(name: string): string {
  // C0 and C1 controls, and the bidirectional overrides that make a name read as another.
  let s = name.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '').replace(/[/\\]/g, '_').trim();
  s = s.replace(/^\.+/, '');
  while (Buffer.byteLength(s) > 200) s = s.slice(0, -1);
  return s === '' || s === '.' || s === '..' ? '' : s;
}

/**
 * Why `name`, a file name a job gives (a download's `filename`, ffmpeg's `output`), is not one
 * sanitizeFileName keeps as it is; null when it is. The empty name too: it would name the
 * directory itself. The value is shown as JSON (a NUL or newline visible) and clipped.
 */
export function notPlainFileName(name: string): string | null {
  if (name !== '' && sanitizeFileName(name) === name) return null;
  const shown = JSON.stringify(name.length > 60 ? `${name.slice(0, 48)}…` : name);
  return `${shown} is not a plain file name (not empty, no / or \\, no control characters, no leading dot or surrounding spaces, at most 200 bytes)`;
}
