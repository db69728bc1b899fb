import { startNginx as start, type Nginx } from '../../bench/nginx.js';
import { onCleanup } from './tmp.js';

export { makeFile } from '../../bench/nginx.js';

/** The bench's nginx, stopped when the test ends. */
export async function startNginx(root: string, o: { limitRate?: string } = {}): Promise<Nginx> {
  const n = await start(root, o);
  onCleanup(() => n.stop());
  return n;
}
