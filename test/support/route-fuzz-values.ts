import fc from 'fast-check';

/**
 * The arbitraries of route-fuzz.ts: path segments, query strings and bodies for a route, from the
 * schemas of the coordinator's own OpenAPI document — mostly plausible values (so requests reach
 * the code behind the first check), each with its malformed neighbours: wrong types, unknown
 * keys, nesting thousands deep, strings past the body limit, bytes that are not JSON.
 */

export type Schema = Record<string, unknown>;

/** What values are drawn from: the document's schemas and the names the store knows (ids, lease tokens, queues…). */
export interface ValueContext {
  schemas: Record<string, Schema>;
  pool: readonly string[];
}

/** JSON text put into a body as it is (nesting thousands deep, a string past the body limit), shown short in reports. */
export class RawJson {
  constructor(
    readonly text: string,
    private readonly shown: string,
  ) {}
  [fc.toStringMethod](): string {
    return this.shown;
  }
}

/** A body as sent: none, JSON (with RawJson parts) under a content type, or bytes. */
export type BodyPlan = { kind: 'none' } | { kind: 'json'; value: unknown; type: string | null } | { kind: 'bytes'; bytes: Uint8Array; type: string | null };

/** The JSON text of `v`, RawJson parts as they are. */
export function jsonText(v: unknown): string {
  if (v instanceof RawJson) return v.text;
  if (Array.isArray(v)) return `[${v.map(jsonText).join(',')}]`;
  if (typeof v === 'object' && v !== null) return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${jsonText(x)}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

/** Percent-encodes the UTF-8 bytes of `s` but letters, digits and `_.~-` (a lone surrogate as U+FFFD). */
export const pct = (s: string): string => [...Buffer.from(s, 'utf8')].map((b) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');

const ODD_STRINGS = ['', ' ', '..', '../../etc/passwd', '\u0000', 'a\u0000b', 'a\nb', '%00', '{server}', '${x}', '*', '5m', '0s', '-1', '1e400', 'NaN', '2038-01-19T03:14:08Z', '\u202e', '\ud800', '🎥'];
const WRONG_VALUES: unknown[] = [null, true, false, 0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, -(2 ** 63), 2 ** 31, 1e21, 5e-324, '', ' ', 'x', '\u0000', [], [null], {}, { a: 1 }, [[[]]], '1e400'];
const ODD_NUMBERS = ['-1', '0', '-0', '1.5', '1e3', '1e400', 'NaN', 'Infinity', '-Infinity', '0x10', '9007199254740993', '99999999999999999999999', ' 1', '+1', '1_000', ''];

/** Nesting `n` deep, of arrays or of objects. */
const deep = fc.tuple(fc.integer({ min: 2, max: 5_000 }), fc.boolean()).map(([n, arrays]) => (arrays ? new RawJson(`${'['.repeat(n)}${']'.repeat(n)}`, `<[…] nested ${n} deep>`) : new RawJson(`${'{"a":'.repeat(n)}0${'}'.repeat(n)}`, `<{"a":…} nested ${n} deep>`)));
/** A string of up to 400,000 of one character (the fuzzed coordinator takes bodies up to 256 KiB). */
const huge = fc.tuple(fc.integer({ min: 1_000, max: 400_000 }), fc.constantFrom('x', 'é', '🎥', '"', '\\', '\u2028', '\u0000')).map(([n, c]) => new RawJson(JSON.stringify(c.repeat(n)), `<${n} × ${JSON.stringify(c)}>`));

/** An array of up to 60,000 strings (a batch past its limit). */
const long = fc.integer({ min: 2, max: 60_000 }).map((n) => new RawJson(`[${'"x",'.repeat(n - 1)}"x"]`, `<["x", …] of ${n}>`));

export function stringValue(pool: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...pool) },
    { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9_.:@-]{1,24}$/) },
    { weight: 1, arbitrary: fc.string({ maxLength: 24 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
    { weight: 1, arbitrary: fc.constantFrom(...ODD_STRINGS) },
  );
}

const smallJson = fc.jsonValue({ maxDepth: 2 });
/** A value of the wrong kind anywhere: odd constants, any JSON, nesting too deep, a string too long. */
export const wrongValue: fc.Arbitrary<unknown> = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...WRONG_VALUES) }, { weight: 3, arbitrary: smallJson }, { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) }, { weight: 1, arbitrary: deep }, { weight: 1, arbitrary: huge }, { weight: 1, arbitrary: long });

const PARAM_NAMES = ['server', 'password', 'url', 'seconds', 'cameras', 'from', 'to', 'input', 'output', 'x'];

/** Values of `s` (the subset of JSON Schema the document uses), most of them plausible. */
export function valueOf(s: Schema, cx: ValueContext, depth = 0): fc.Arbitrary<unknown> {
  if (typeof s.$ref === 'string') return valueOf(cx.schemas[s.$ref.split('/').pop() ?? ''] ?? {}, cx, depth);
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
  if ('const' in s) return fc.constant(s.const);
  const alternatives = (s.oneOf ?? s.anyOf) as Schema[] | undefined;
  if (alternatives && s.type === undefined && s.properties === undefined) return fc.oneof(...alternatives.map((a) => valueOf(a, cx, depth)));
  const types = s.type === undefined ? (s.properties ? ['object'] : []) : [s.type].flat().map(String);
  if (types.length === 0) return smallJson;
  return fc.oneof(...types.map((t) => typedValue(t, s, cx, depth)));
}

function typedValue(type: string, s: Schema, cx: ValueContext, depth: number): fc.Arbitrary<unknown> {
  switch (type) {
    case 'string':
      return stringValue(cx.pool);
    case 'integer':
    case 'number': {
      const min = typeof s.minimum === 'number' ? s.minimum : -10;
      const max = typeof s.maximum === 'number' ? s.maximum : 100_000;
      return fc.oneof({ weight: 4, arbitrary: fc.integer({ min, max }) }, { weight: 1, arbitrary: fc.constantFrom(-1, 0, 1.5, 2 ** 53, 1e300, Date.now()) });
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return depth >= 3 ? fc.constant([]) : fc.array(valueOf((s.items as Schema | undefined) ?? {}, cx, depth + 1), { maxLength: 3 });
    default:
      return objectOf(s, cx, depth);
  }
}

function objectOf(s: Schema, cx: ValueContext, depth: number): fc.Arbitrary<unknown> {
  const props = (s.properties ?? {}) as Record<string, Schema>;
  const keys = Object.keys(props);
  if (keys.length === 0) {
    const more = s.additionalProperties;
    const values = typeof more === 'object' && more !== null ? valueOf(more as Schema, cx, depth + 1) : smallJson;
    return fc.dictionary(fc.oneof(fc.constantFrom(...PARAM_NAMES), fc.string({ maxLength: 10 })), values, { maxKeys: 3 });
  }
  if (depth >= 3) return fc.constant({});
  const required = Array.isArray(s.required) ? (s.required as string[]) : [];
  return fc.record(Object.fromEntries(keys.map((k) => [k, valueOf(props[k] as Schema, cx, depth + 1)])), { requiredKeys: required }) as fc.Arbitrary<unknown>;
}

/** The top-level property names a body of `s` may have (of each alternative of a oneOf too). */
export function propertyNames(s: Schema | undefined, cx: ValueContext): string[] {
  if (!s) return [];
  if (typeof s.$ref === 'string') return propertyNames(cx.schemas[s.$ref.split('/').pop() ?? ''], cx);
  const own = Object.keys((s.properties ?? {}) as object);
  const alternatives = ((s.oneOf ?? s.anyOf ?? []) as Schema[]).flatMap((a) => propertyNames(a, cx));
  return [...new Set([...own, ...alternatives])];
}

/** Sets `key` of a plain object as its own property (`__proto__` too); `undefined` removes it. */
function withKey(o: unknown, key: string, value: unknown): unknown {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return o;
  const out: Record<string, unknown> = { ...o };
  if (value === undefined) delete out[key];
  else Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

type Path = Array<string | number>;

/** Every path into `v`: its keys and indices, at any depth. */
function pathsOf(v: unknown, at: Path = []): Path[] {
  if (typeof v !== 'object' || v === null) return [];
  const entries: Array<[string | number, unknown]> = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
  return entries.flatMap(([k, x]) => [[...at, k], ...pathsOf(x, [...at, k])]);
}

/** `v` with the value at `path` replaced (removed: `undefined`; an unknown key: added beside it). */
function withPath(v: unknown, path: Path, value: unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return value;
  if (Array.isArray(v) && typeof head === 'number') return value === undefined && rest.length === 0 ? v.filter((_, i) => i !== head) : v.map((x, i) => (i === head ? withPath(x, rest, value) : x));
  if (typeof v !== 'object' || v === null) return v;
  return withKey(v, String(head), rest.length === 0 ? value : withPath((v as Record<string, unknown>)[String(head)], rest, value));
}

/** A valid example with one or two values anywhere in it changed, removed, or a key beside them added. */
function exampleChanged(examples: readonly unknown[]): fc.Arbitrary<unknown> {
  const one = (ex: unknown) => {
    const paths = pathsOf(ex);
    if (paths.length === 0) return fc.constant(ex);
    const place = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...paths) }, { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...paths), fc.constantFrom('', 'x', '__proto__', 'constructor')).map(([p, k]) => [...p.slice(0, -1), k]) });
    return fc.array(fc.tuple(place, fc.option(wrongValue, { nil: undefined, freq: 6 })), { minLength: 1, maxLength: 2 }).map((changes) => changes.reduce((acc, [p, x]) => withPath(acc, p, x), ex));
  };
  return fc.oneof(...examples.map(one));
}

const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'Application/JSON'];
const OTHER_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream', 'multipart/form-data; boundary=x', 'application/xml', 'application/json; charset=utf-16', 'application/jsonx', '*/*', ''];

/** Bodies for a route whose body is `s` (none: it reads no body, or takes any object), valid `examples` of it changed most. */
export function bodyOf(s: Schema | undefined, cx: ValueContext, examples: readonly unknown[] = []): fc.Arbitrary<BodyPlan> {
  const plausible = s ? valueOf(s, cx) : fc.constant({});
  const keys = propertyNames(s, cx);
  const key = keys.length > 0 ? fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...keys) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }, { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor') }) : fc.string({ maxLength: 12 });
  const mutated = fc.tuple(plausible, fc.array(fc.tuple(key, fc.option(wrongValue, { nil: undefined, freq: 6 })), { minLength: 1, maxLength: 2 })).map(([o, changes]) => changes.reduce((acc, [k, v]) => withKey(acc, k, v), o));
  const json = (value: fc.Arbitrary<unknown>) => fc.record({ kind: fc.constant('json' as const), value, type: fc.constantFrom(...JSON_TYPES) });
  const fromExamples = examples.length > 0 ? [{ weight: 2, arbitrary: json(fc.constantFrom(...examples)) }, { weight: 8, arbitrary: json(exampleChanged(examples)) }] : [];
  return fc.oneof(
    ...fromExamples,
    { weight: 3, arbitrary: json(plausible) },
    { weight: 4, arbitrary: json(mutated) },
    { weight: 1, arbitrary: json(fc.oneof(fc.jsonValue({ maxDepth: 4 }), deep, huge)) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('json' as const), value: fc.oneof(plausible, smallJson), type: fc.option(fc.constantFrom(...OTHER_TYPES), { nil: null }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('bytes' as const), bytes: fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.constantFrom(...['', '{', '{"a":', 'null x', '\ufeff{}', '[1,]', "{'a':1}", 'NaN', '"\\ud800"', '{"a":1}{"b":2}'].map((t) => Buffer.from(t)))), type: fc.option(fc.constantFrom(...JSON_TYPES, ...OTHER_TYPES), { nil: null, freq: 4 }) }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
  );
}

/** A path segment as sent: a known name, any text percent-encoded, a long one, traversal and broken encodings, raw characters. */
export function segmentOf(pool: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...pool).map(pct) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map(pct) },
    { weight: 1, arbitrary: fc.integer({ min: 129, max: 5_000 }).map((n) => 'a'.repeat(n)) },
    { weight: 2, arbitrary: fc.constantFrom('..', '.', '%2e%2e', '..%2F..%2Fetc%2Fpasswd', '%2F', '%00', 'a%00b', '%', '%zz', '%E0%A4%A', '%C0%AF', '%FF%FE', '%u0041', ';', "'", '"', '<b>', '~', '%20', '+', '__proto__', 'constructor', 'NaN', '-1', '1e400', '%F0%9F%8E%A5') },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@%-]{1,30}$/) },
  );
}

/** Text of a query value: a list comma-separated, an object as JSON. */
const queryText = (v: unknown): string => (Array.isArray(v) ? v.map(queryText).join(',') : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));

/** A query string: documented keys with plausible or odd values, unknown keys, the same key twice, broken encodings. */
export function queryOf(documented: Record<string, Schema>, cx: ValueContext): fc.Arbitrary<string> {
  const value = (s: Schema) => fc.oneof({ weight: 3, arbitrary: valueOf(s, cx).map(queryText) }, { weight: 2, arbitrary: fc.constantFrom(...ODD_NUMBERS) }, { weight: 1, arbitrary: stringValue(cx.pool) });
  const known = Object.entries(documented).map(([k, s]) => fc.tuple(fc.constant(k), value(s)));
  const unknown = fc.tuple(fc.oneof(fc.constantFrom('__proto__', 'constructor', 'toString', 'a[b]', '', 'wait', 'limit', 'since'), fc.string({ maxLength: 8 })), value({}));
  const pair = (known.length > 0 ? fc.oneof({ weight: 2, arbitrary: fc.oneof(...known) }, { weight: 1, arbitrary: unknown }) : unknown).map(([k, v]) => `${pct(k)}=${pct(v)}`);
  const broken = fc.constantFrom('%', '%zz=1', '=', '&&', 'a=%', 'wait=%FF', 'limit', 'since=%E0%A4%A', 'x=1;y=2');
  return fc.array(fc.oneof({ weight: 5, arbitrary: pair }, { weight: 1, arbitrary: broken }), { maxLength: 4 }).map((parts) => parts.join('&'));
}
