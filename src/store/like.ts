/** `text` with LIKE's wildcards (`%`, `_`) and its escape character escaped by a backslash, for `LIKE ... ESCAPE '\\'` (PostgreSQL's default escape). */
export function likeEscaped(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Whether a trigram index can narrow a search for `q`: it needs three characters (code points). */
export function trigramSearchable(q: string): boolean {
  return [...q].length >= 3;
}
