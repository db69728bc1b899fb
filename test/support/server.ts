import path from 'node:path';
import { startServer, type RunningServer, type ServerOptions } from '../../src/coordinator/server.js';
import { silentLogger } from '../../src/core/logger.js';
import { onCleanup, tempDir } from './tmp.js';

/** A coordinator in this process: an ephemeral port, a data dir of its own, no tokens, silent; closed after the test. */
export async function testServer(o: Partial<ServerOptions> = {}): Promise<RunningServer> {
  const srv = await startServer({ port: 0, dataDir: path.join(tempDir(), 'data'), tokens: { admin: null, worker: null }, templates: [], logger: silentLogger(), ...o });
  onCleanup(() => srv.close());
  return srv;
}
