// `npm install` or `npm ci` in a clone builds dist/. It builds only when dist/ is older than the
// sources: npx links this checkout into its own cache at its first `npx drover` and runs prepare
// again there, which would otherwise rebuild everything, silently, before the command starts.
const fs = require('node:fs');
const path = require('node:path');
const { execSync } = require('node:child_process');

/** The newest modification time below `dir` (files only), ms; 0 when it has none. */
function newest(dir) {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

const built = fs.existsSync('dist/index.js') ? fs.statSync('dist/index.js').mtimeMs : 0;
const sources = Math.max(newest('src'), newest('web'), ...['package.json', 'tsconfig.json', 'tsconfig.build.json'].map((f) => fs.statSync(f).mtimeMs));
if (built <= sources) execSync('npm run build', { stdio: 'inherit' });
