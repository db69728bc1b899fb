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
