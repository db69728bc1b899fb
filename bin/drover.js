#!/usr/bin/env node
import { main } from '../dist/cli/main.js';
main(process.argv).catch((err) => {
  process.stderr.write(`drover: ${err && err.message ? err.message : String(err)}\n`);
  process.exit(1);
});
