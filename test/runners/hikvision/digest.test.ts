import { describe, expect, it } from 'vitest';
import { digestChallenge, digestResponse, DigestSession, parseAuthParams } from '../../../src/runners/hikvision/digest.js';

describe('HTTP digest authentication', () => {
  it("computes the RFC examples' responses: RFC 2617 (MD5, qop=auth) and RFC 7616 (MD5 and SHA-256)", () => {
    const rfc2617 = { username: 'Mufasa', password: 'Circle Of Life', realm: 'testrealm@host.com', nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093', method: 'GET', uri: '/dir/index.html', qop: 'auth' as const, nc: '00000001', cnonce: '0a4f113b' };
    expect(digestResponse({ ...rfc2617, algorithm: 'MD5' })).toBe('6629fae49393a05397450978507c4ef1');
    const rfc7616 = { username: 'Mufasa', password: 'Circle of Life', realm: 'http-auth@example.org', nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v', method: 'GET', uri: '/dir/index.html', qop: 'auth' as const, nc: '00000001', cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ' };
    expect(digestResponse({ ...rfc7616, algorithm: 'MD5' })).toBe('8ca523f5e9506fed4657c9700eebdbec');
    expect(digestResponse({ ...rfc7616, algorithm: 'SHA-256' })).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
    // -sess hashes the nonce and cnonce into HA1 (the figure from Python's hashlib).
    expect(digestResponse({ ...rfc2617, algorithm: 'MD5-SESS' })).toBe('8e3825c57e897f5a0dec6c2d4e5059d0');
    // No qop (RFC 2069 devices): HA1:nonce:HA2.
    expect(digestResponse({ ...rfc2617, qop: null, algorithm: 'MD5' })).toBe('670fd8c2df070c60b045671b8b24ff02');
  });

  it('parses challenges with quoted commas, escapes, empty values and stray commas; picks Digest among several', () => {
    expect(Object.fromEntries(parseAuthParams('realm="a, b", qop="auth,auth-int", nonce=abc, opaque="", x="q\\"uote", ,'))).toEqual({ realm: 'a, b', qop: 'auth,auth-int', nonce: 'abc', opaque: '', x: 'q"uote' });
    expect(digestChallenge(['Basic realm="IP Camera"', 'Digest qop="auth", realm="IP Camera(C1234)", nonce="NjM4OTg=", stale="FALSE"'])).toEqual({ realm: 'IP Camera(C1234)', nonce: 'NjM4OTg=', algorithm: 'MD5', qop: ['auth'], stale: false });
    expect(digestChallenge(['Digest realm="r", nonce="n", algorithm=MD5-sess, stale=TRUE'])).toMatchObject({ algorithm: 'MD5-SESS', stale: true, qop: [] });
    expect(digestChallenge(['Basic realm="x"'])).toBeNull();
    expect(digestChallenge(['Digest realm="r"'])).toBeNull();
    expect(digestChallenge(['Digest realm="r", nonce="n", algorithm=SHA-512-256'])).toBeNull();
  });

  it('counts nonces, retries a stale or rotated nonce, and calls the nonce it signed with challenged again a refusal', () => {
    const s = new DigestSession('admin', 'pw', () => 'c0ffee');
    expect(s.authorization('GET', '/ISAPI/System/deviceInfo')).toBeNull();
    expect(s.challenged(['Digest realm="r", nonce="n1", qop="auth"'], null)).toBe('retry');
    const first = s.authorization('GET', '/ISAPI/System/deviceInfo');
    expect(first?.nonce).toBe('n1');
    expect(first?.header).toMatch(/^Digest username="admin", realm="r", nonce="n1", uri="\/ISAPI\/System\/deviceInfo", algorithm=MD5, response="[0-9a-f]{32}", qop=auth, nc=00000001, cnonce="c0ffee"$/);
    const second = s.authorization('POST', '/ISAPI/ContentMgmt/search');
    expect(second?.header).toContain('nc=00000002');
    expect(s.challenged(['Digest realm="r", nonce="n2", qop="auth", stale="true"'], 'n1')).toBe('retry');
    expect(s.authorization('GET', '/x')?.header).toContain('nc=00000001');
    // Two requests in flight on n2; the device rotates to n3 without saying stale: the second,
    // signed with n2, meets n3 — the same challenge the first already took — and goes again.
    expect(s.challenged(['Digest realm="r", nonce="n3", qop="auth"'], 'n2')).toBe('retry');
    expect(s.authorization('GET', '/y')?.header).toContain('nc=00000001');
    expect(s.challenged(['Digest realm="r", nonce="n3", qop="auth"'], 'n2')).toBe('retry');
    // The same challenge again for the request that did not reset it: no replayed count.
    expect(s.authorization('GET', '/z')?.header).toContain('nc=00000002');
    expect(s.challenged(['Digest realm="r", nonce="n3", qop="auth"'], 'n3')).toBe('refused');
    expect(s.challenged(['Basic realm="r"'], 'n3')).toBe('refused');
  });

  it('keeps one cnonce per nonce for -sess, whose session key is made once', () => {
    let n = 0;
    const s = new DigestSession('admin', 'pw', () => `c${++n}`);
    s.challenged(['Digest realm="r", nonce="n1", qop="auth", algorithm=MD5-sess'], null);
    const cnonces = [s.authorization('GET', '/a'), s.authorization('GET', '/b')].map((a) => /cnonce="([^"]+)"/.exec(a?.header ?? '')?.[1]);
    expect(cnonces).toEqual(['c1', 'c1']);
    s.challenged(['Digest realm="r", nonce="n2", qop="auth", algorithm=MD5-sess'], 'n1');
    expect(/cnonce="([^"]+)"/.exec(s.authorization('GET', '/c')?.header ?? '')?.[1]).toBe('c2');
  });
});
