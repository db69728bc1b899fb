/** `text` with LIKE's wildcards (`%`, `_`) and its escape character escaped by a backslash, for `LIKE ... ESCAPE '\\'` (PostgreSQL's default escape). */
export function likeEscaped(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
