/**
 * `bin/drover.js` for the bench: the same entry point, but from this build (build/src), so the
 * bench measures the sources it was compiled with whether or not dist/ is up to date.
 */
import { main } from '../src/cli/main.js';

main(process.argv).catch((err: unknown) => {
  process.stderr.write(`drover: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
