/** `scheme://user:password@` anywhere in a text. */
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/[^\s/:@]*:)[^\s/@]+@/gi;
/** `password=...`, `token=...` and the like in a query string or an argument. */
const SECRET_PARAM = /([?&;\s](?:password|passwd|pwd|pass|token|secret|api_key|apikey|auth)=)[^&;\s]+/gi;

/**
 * Hides credentials in URLs (`rtsp://admin:***@cam/...`, `?token=***`): camera URLs carry their
 * passwords, and commands and ffmpeg's own messages repeat them. Used on every line the
 * supervisor keeps, logs or serves.
 */
export function redactUrlSecrets(text: string): string {
  if (!text.includes('://') && !text.includes('=')) return text;
  return text.replace(USERINFO, '$1***@').replace(SECRET_PARAM, '$1***');
}
