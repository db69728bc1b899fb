// The HEALTHCHECK of deploy/docker/Dockerfile: `node healthcheck.mjs URL` asks the coordinator's
// GET /healthz at URL and exits 0 when it answers 200 with {"ok":true}, 1 otherwise. The image also
// runs workers (`drover worker` as the command), which serve no HTTP: in a container with no
// coordinator process (`drover server` or `drover up`) there is nothing to check, and it exits 0.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';

const url = new URL(process.argv[2] ?? 'https://127.0.0.1:7070/healthz');

/** A process of this container runs `drover server` or `drover up` (node /usr/local/bin/drover server ...). */
function coordinatorRuns() {
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    let argv;
    try {
      argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // ended meanwhile
    }
    const i = argv.findIndex((a) => /(^|\/)drover(\.js)?$/.test(a));
    if (i >= 0 && (argv[i + 1] === 'server' || argv[i + 1] === 'up')) return true;
  }
  return false;
}

function fail(why) {
  process.stderr.write(`healthcheck: ${url.href}: ${why}\n`);
  process.exit(1);
}

if (!coordinatorRuns()) process.exit(0);
// Loopback and liveness only: /healthz takes no token and nothing secret is sent, so the
// certificate is not checked (the coordinator's own may not name 127.0.0.1).
const get = url.protocol === 'https:' ? https.get : http.get;
const req = get(url, { rejectUnauthorized: false, timeout: 5000 }, (res) => {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (d) => (body += d));
  res.on('end', () => {
    let ok = false;
    try {
      ok = JSON.parse(body).ok === true;
    } catch {
      // not JSON: not the coordinator
    }
    if (res.statusCode === 200 && ok) process.exit(0);
    fail(`answered ${res.statusCode}: ${body.slice(0, 200)}`);
  });
});
req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
req.on('error', (err) => fail(err.message));
