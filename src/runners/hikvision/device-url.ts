/** The origin of a `server` param, or an Error naming what is wrong with it. */
export function serverOrigin(server: string): URL {
  const s = server.trim();
  let u: URL;
  try {
    u = new URL(/^[a-z]+:\/\//i.test(s) ? s : `http://${s}`);
  } catch {
    throw new Error(`server: "${server}" is not a host, host:port or http(s)://host:port`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`server: "${server}" is not http or https`);
  if (u.port === '0') throw new Error(`server: "${server}": port 0 is no port`);
  if (u.pathname !== '/' || u.search || u.username || u.password) throw new Error(`server: "${server}" must be a host, host:port or http(s)://host:port (no path or user)`);
  return u;
}
