/** `scheme://user:password@` anywhere in a text; the password may itself hold an `@`. */
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/[^\s/:@]*:)[^\s/]*@/gi;
/** `password=...`, `token=...`, `passphrase=...` and the like in a query string or an argument. */
const SECRET_PARAM = /((?:^|[?&;\s])(?:password|passwd|pwd|pass|passphrase|token|access_token|secret|api_key|apikey|key|sig|signature|x-amz-signature|x-amz-credential|auth)=)[^&;\s]+/gi;
/** ffmpeg options whose value is a secret: `-passphrase X`, `-headers 'Authorization: ...'`. */
const SECRET_OPTIONS = new Set(['-passphrase', '-headers', '-cookies', '-password', '-key', '-decryption_key', '-encryption_key', '-srtp_in_params', '-srtp_out_params', '-auth_type']);

/**
 * Hides credentials in URLs (`rtsp://admin:***@cam/...`, `?token=***`, `passphrase=***`):
 * camera URLs carry their passwords, and commands and ffmpeg's own messages repeat them. Used on
 * every line the supervisor keeps, logs or serves. Not caught: a key that is a path segment
 * (an RTMP stream key) — pass such a URL as a secret param.
 */
export function redactUrlSecrets(text: string): string {
  if (!text.includes('://') && !text.includes('=')) return text;
  return text.replace(USERINFO, '$1***@').replace(SECRET_PARAM, '$1***');
}

/** A command line to show: every argument through redactUrlSecrets, and the values of secret options hidden. */
export function redactCommand(argv: readonly string[]): string[] {
  return argv.map((a, i) => (i > 0 && SECRET_OPTIONS.has(argv[i - 1] as string) ? '***' : redactUrlSecrets(a)));
}
