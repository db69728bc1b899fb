import net from 'node:net';

/**
 * The proxy a URL goes through, from the environment as curl reads it: `http_proxy` /
 * `HTTP_PROXY` for http URLs, `https_proxy` / `HTTPS_PROXY` for https, and `no_proxy` /
 * `NO_PROXY` (comma-separated hosts, `.domain` or `domain` for a domain and its subdomains, an
 * optional `:port`, IP ranges as CIDR, `*` for everything) to go direct. Null when the URL goes direct.
 */
export function proxyFor(url: URL, env: NodeJS.ProcessEnv = process.env): URL | null {
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  const raw = env[`${scheme}_proxy`] || env[`${scheme.toUpperCase()}_PROXY`];
  if (!raw) return null;
  if (bypassed(url, env.no_proxy || env.NO_PROXY || '')) return null;
  let proxy: URL;
  try {
    proxy = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch {
    throw new Error(`${scheme}_proxy is not a URL: ${redactUserinfo(raw)}`);
  }
  if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:') throw new Error(`${scheme}_proxy must be an http:// or https:// URL, not ${proxy.protocol}//`);
  return proxy;
}

function bypassed(url: URL, noProxy: string): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const family = net.isIP(host);
  for (const entry of noProxy.split(/[\s,]+/).filter(Boolean).map((e) => e.toLowerCase())) {
    if (entry === '*') return true;
    const cidr = /^\[?([0-9a-f.:]+)\]?\/(\d{1,3})$/.exec(entry);
    if (cidr) {
      const net6 = net.isIP(cidr[1] as string);
      if (family !== 0 && net6 === family) {
        const list = new net.BlockList();
        list.addSubnet(cidr[1] as string, Number(cidr[2]), family === 6 ? 'ipv6' : 'ipv4');
        if (list.check(host, family === 6 ? 'ipv6' : 'ipv4')) return true;
      }
      continue;
    }
    // A bare IPv6 address has colons of its own: only [addr]:port carries a port.
    const m = net.isIP(entry) === 6 ? [entry, entry, undefined] : (/^(.*?)(?::(\d+))?$/.exec(entry) as RegExpExecArray);
    const name = (m[1] ?? '').replace(/^\[|\]$/g, '').replace(/^\*?\./, '');
    if (m[2] && m[2] !== port) continue;
    if (host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}

function redactUserinfo(s: string): string {
  return s.replace(/\/\/[^/@]*@/, '//***@');
}
