/**
 * Names and paths that try to leave the directory they are meant for: every entry point that
 * takes a path from outside (template params, a download's dest and filename, a server's
 * Content-Disposition, a peer's segment listing, a device's file names, an upload's name, a zip's
 * entries) is driven with each of them by test/security/traversal.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface CorpusEntry {
  /** Short, printable: what the entry tries (shown in a failed assertion). */
  label: string;
  value: string;
}

/**
 * The corpus. `outside` is an absolute directory the code must not write into: the absolute
 * entries aim there (as well as at `/etc/passwd` and `/tmp/x`), so that a write through one of
 * them would show.
 */
export function traversalCorpus(outside: string): CorpusEntry[] {
  const e = (label: string, value: string): CorpusEntry => ({ label, value });
  return [
    e('dot-dot', '..'),
    e('dot-dot twice', '../..'),
    e('dot-dot to /etc/passwd', '../../etc/passwd'),
    e('dot-dot deep', '../../../../../../../../x'),
    e('dot-dot into outside', `../${path.basename(outside)}/x`),
    e('absolute /etc/passwd', '/etc/passwd'),
    e('absolute /tmp/x', '/tmp/x'),
    e('absolute outside', path.join(outside, 'x')),
    e('absolute outside dir', `${outside}/`),
    e('windows drive', 'C:\\Windows\\x'),
    e('windows UNC', '\\\\host\\share\\x'),
    e('backslash dot-dot', '..\\..\\x'),
    e('backslash dot-dot into outside', `..\\${path.basename(outside)}\\x`),
    e('climbing after a part', 'a/../../x'),
    e('dot then dot-dot', './..'),
    e('dot-dot trailing slash', '../'),
    e('triple dot', '...'),
    e('NUL', 'x\0y'),
    e('NUL then dot-dot', 'x\0/../../y'),
    e('percent dot-dot slash', '%2e%2e/'),
    e('percent dot-dot percent slash', '%2e%2e%2f'),
    e('dot-dot percent slash', '..%2f'),
    e('double percent', '%252e%252e%252f'),
    e('ONE DOT LEADER', '\u2024\u2024'),
    e('ONE DOT LEADER slash', '\u2024\u2024/x'),
    e('FULLWIDTH FULL STOP', '\uff0e\uff0e'),
    e('FULLWIDTH FULL STOP slash', '\uff0e\uff0e/x'),
    e('DIVISION SLASH', '..\u2215..\u2215x'),
    e('FULLWIDTH SOLIDUS', '..\uff0f..\uff0fx'),
    e('FRACTION SLASH', '..\u2044..\u2044x'),
    e('combining dot', '.\u0307.'),
    e('combining over dot-dot', '..\u0338'),
    e('right-to-left override', 'x\u202egpj.exe'),
    e('300-byte name', 'a'.repeat(300)),
    e('300-byte multibyte name', '\u00e9'.repeat(150)),
    e('100 three-byte characters', '\u65e5'.repeat(100)),
    e('4-byte characters', '\u{1f600}'.repeat(100)),
    e('5000-byte name', 'b'.repeat(5000)),
    e('5000-byte path', Array.from({ length: 500 }, () => 'abcdefghi').join('/')),
    e('ending in a dot', 'x.'),
    e('ending in a space', 'x '),
    e('dots and spaces', '. .'),
    e('device CON', 'CON'),
    e('device NUL', 'NUL'),
    e('device COM1', 'COM1'),
    e('device LPT1', 'LPT1'),
    e('device aux.txt', 'aux.txt'),
    e('empty', ''),
    e('dot', '.'),
    e('newline', 'x\ny'),
    e('newline dot-dot', '\n../x'),
    e('carriage return', 'x\r\ny'),
    e('tab', 'x\ty'),
    e('hidden', '.hidden'),
    e('tilde home', '~/x'),
    e('dash option', '-rf'),
    e('plain', 'plain.txt'),
  ];
}

/** Every file and directory below `dir` (relative, `/`-separated; links as `name -> target`), sorted. */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    let names: string[];
    try {
      names = fs.readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const full = path.join(d, n);
      const r = rel ? `${rel}/${n}` : n;
      const st = fs.lstatSync(full);
      if (st.isSymbolicLink()) out.push(`${r} -> ${fs.readlinkSync(full)}`);
      else if (st.isDirectory()) {
        out.push(`${r}/`);
        walk(full, r);
      } else out.push(r);
    }
  };
  walk(dir, '');
  return out.sort();
}

/** What must not change: a file's existence, size and modification time. */
function stamp(file: string): string {
  try {
    const st = fs.lstatSync(file);
    return `${st.size} ${st.mtimeMs}`;
  } catch {
    return 'absent';
  }
}

/**
 * A sandbox: `parent` (a fresh temp dir) holds `root` (where the code may write), an `outside`
 * directory with a file in it, and a file beside `root`. `unchanged()` throws naming what
 * appeared, went or changed anywhere but below `root`, and at `/etc/passwd` and `/tmp/x`.
 */
export function sandbox(parent: string) {
  const root = path.join(parent, 'root');
  const outside = path.join(parent, 'outside');
  fs.mkdirSync(root);
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'keep'), 'keep');
  fs.writeFileSync(path.join(parent, 'beside'), 'beside');
  const watched = ['/etc/passwd', '/tmp/x', '/x', '/etc/x'];
  const outsideRoot = () => listTree(parent).filter((p) => p !== 'root/' && !p.startsWith('root/'));
  const before = { tree: outsideRoot(), files: watched.map(stamp) };
  return {
    parent,
    root,
    outside,
    /** Throws when anything but `root`'s contents changed. */
    unchanged(what: string): void {
      const tree = outsideRoot();
      const files = watched.map(stamp);
      if (JSON.stringify(tree) !== JSON.stringify(before.tree)) throw new Error(`${what}: wrote outside the root: ${JSON.stringify(tree.filter((t) => !before.tree.includes(t)))}`);
      if (JSON.stringify(files) !== JSON.stringify(before.files)) throw new Error(`${what}: touched ${watched.filter((_, i) => files[i] !== before.files[i]).join(', ')}`);
    },
    /** Throws unless `file` (absolute) is strictly below `root`, by its real path. */
    inside(file: string, what: string): void {
      const real = fs.realpathSync(file);
      const rel = path.relative(fs.realpathSync(root), real);
      if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) throw new Error(`${what}: ${file} is not inside ${root}`);
    },
  };
}

/** A printable form of a corpus value for a message: JSON, clipped. */
export function show(v: string): string {
  const j = JSON.stringify(v);
  return j.length > 60 ? `${j.slice(0, 57)}…` : j;
}
