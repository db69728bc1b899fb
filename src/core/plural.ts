/** `1 row`, `2 rows`: a count and its noun, `word` + s unless it is one. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
