import dns from 'node:dns';
import net from 'node:net';
import { ValidationError } from './errors.js';

/** Names that stand for address ranges in `worker.allow_hosts` / `worker.deny_hosts`. */
const RANGES: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7'],
  'link-local': ['169.254.0.0/16', 'fe80::/10'],
};

/** A host a job may not reach, by the worker's rules. Not retryable: the rules will say the same. */
export class HostDeniedError extends Error {
  readonly code = 'EHOSTDENIED';
}

interface Rules {
  /** Address ranges, as given (for the error). */
  ranges: Array<{ text: string; list: net.BlockList }>;
  /** Host names: `nvr.example.com`, or `*.example.com` for its subdomains. */
  names: string[];
}

/**
 * Which hosts a worker's jobs may connect to (downloads and ffmpeg inputs): `worker.allow_hosts`
 * and `worker.deny_hosts`, each a list of CIDR ranges (`10.0.0.0/8`, `fd00::/8`), addresses,
 * host names (`*.example.com`), or `loopback`, `private`, `link-local`. Both empty (the
 * default): every host. A host is refused when it or any of its addresses is denied, or when
 * allow rules are given and neither its name nor all of its addresses are allowed. Deny wins.
 */
export class HostGuard {
  private readonly allow: Rules;
  private readonly deny: Rules;

  /** Throws a ValidationError naming `where.allow_hosts` or `.deny_hosts` and the bad entry. */
  constructor(o: { allow?: readonly string[]; deny?: readonly string[] } = {}, where = 'worker') {
    this.allow = rulesOf(o.allow ?? [], `${where}.allow_hosts`);
    this.deny = rulesOf(o.deny ?? [], `${where}.deny_hosts`);
  }

  /** No rules: nothing is checked. */
  get off(): boolean {
    return this.allow.ranges.length + this.allow.names.length + this.deny.ranges.length + this.deny.names.length === 0;
  }

  /** Resolves `host` and checks it and its addresses; throws HostDeniedError saying which rule refused it. */
  async check(host: string): Promise<void> {
    if (this.off) return;
    const bare = host.replace(/^\[|\]$/g, '');
    // A name denied is refused before it is looked up (it may not resolve here at all).
    this.checkAddresses(bare, []);
    const addresses = net.isIP(bare) ? [bare] : (await dns.promises.lookup(bare, { all: true })).map((a) => a.address);
    this.checkAddresses(bare, addresses);
  }

  /**
   * A `lookup` for net.connect: resolves as Node does and refuses denied addresses, so the
   * address connected to is the one checked (a name cannot resolve to another between the two).
   */
  lookup(hostname: string, options: dns.LookupOptions, callback: (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void): void {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 4);
      try {
        this.checkAddresses(hostname, addresses.map((a) => a.address));
      } catch (e) {
        return callback(e as NodeJS.ErrnoException, '', 4);
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0] as dns.LookupAddress;
      callback(null, first.address, first.family);
    });
  }

  private checkAddresses(host: string, addresses: readonly string[]): void {
    if (this.off) return;
    const name = host.toLowerCase();
    const deniedName = this.deny.names.find((n) => nameMatches(n, name));
    if (deniedName) throw new HostDeniedError(`${host} is denied by worker.deny_hosts (${deniedName})`);
    for (const a of addresses) {
      const rule = rangeOf(this.deny, a);
      if (rule) throw new HostDeniedError(`${host}${a === host ? '' : ` (${a})`} is denied by worker.deny_hosts (${rule})`);
    }
    const hasAllow = this.allow.ranges.length + this.allow.names.length > 0;
    if (!hasAllow || this.allow.names.some((n) => nameMatches(n, name)) || addresses.length === 0) return;
    const outside = addresses.find((a) => !rangeOf(this.allow, a));
    if (outside !== undefined) throw new HostDeniedError(`${host}${outside === host ? '' : ` (${outside})`} is not in worker.allow_hosts`);
  }
}

function rulesOf(entries: readonly string[], where: string): Rules {
  const rules: Rules = { ranges: [], names: [] };
  for (const raw of entries) {
    const e = raw.trim().toLowerCase();
    const ranges = RANGES[e] ?? (/^[0-9a-f:.]+(\/\d{1,3})?$/.test(e) && net.isIP(e.split('/')[0] as string) ? [e] : null);
    if (ranges) {
      const list = new net.BlockList();
      for (const r of ranges) addRange(list, r, raw, where);
      rules.ranges.push({ text: raw, list });
    } else if (/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(e)) rules.names.push(e);
    else throw new ValidationError(`${where}: "${raw}" is not a CIDR range (10.0.0.0/8), an address, a host name (*.example.com) or one of ${Object.keys(RANGES).join(', ')}`, where);
  }
  return rules;
}

function addRange(list: net.BlockList, range: string, raw: string, where: string): void {
  const [ip, bits] = range.split('/') as [string, string | undefined];
  const family = net.isIP(ip) === 6 ? 'ipv6' : 'ipv4';
  const prefix = bits === undefined ? (family === 'ipv6' ? 128 : 32) : Number(bits);
  if (prefix > (family === 'ipv6' ? 128 : 32)) throw new ValidationError(`${where}: "${raw}" has a prefix longer than the address`, where);
  list.addSubnet(ip, prefix, family);
}

/** The first range rule holding `address` (an IPv4 address mapped into IPv6 counts as IPv4). */
function rangeOf(rules: Rules, address: string): string | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const a = mapped ?? address;
  const family = net.isIP(a) === 6 ? 'ipv6' : 'ipv4';
  return rules.ranges.find((r) => r.list.check(a, family))?.text;
}

function nameMatches(rule: string, host: string): boolean {
  return rule.startsWith('*.') ? host.endsWith(rule.slice(1)) : host === rule;
}
