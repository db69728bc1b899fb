// Bundles the dashboard (web/) into dist/web: one script and one stylesheet with content-hashed
// names (served as immutable), and index.html naming them. Run by `npm run build`.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist/web');
fs.rmSync(out, { recursive: true, force: true });
const result = await build({
  entryPoints: [path.join(root, 'web/src/main.tsx')],
  bundle: true,
  format: 'esm',
  target: ['chrome111', 'firefox115', 'safari16.4'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: 'linked',
  outdir: path.join(out, 'assets'),
  entryNames: 'app-[hash]',
  metafile: true,
  logLevel: 'warning',
  legalComments: 'none',
});
const outputs = Object.keys(result.metafile.outputs).map((f) => path.basename(f));
const js = outputs.find((f) => f.endsWith('.js'));
const css = outputs.find((f) => f.endsWith('.css'));
if (!js || !css) throw new Error(`the dashboard bundle lacks a script or a stylesheet: ${outputs.join(', ')}`);
const html = fs.readFileSync(path.join(root, 'web/index.html'), 'utf8').replace('__JS__', js).replace('__CSS__', css);
fs.writeFileSync(path.join(out, 'index.html'), html);
const size = (f) => fs.statSync(path.join(out, 'assets', f)).size;
process.stdout.write(`dashboard: dist/web (${js} ${(size(js) / 1024).toFixed(1)} KiB, ${css} ${(size(css) / 1024).toFixed(1)} KiB)\n`);
