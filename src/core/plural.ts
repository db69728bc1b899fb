/** `1 row`, `2 rows`: a count and its noun, `many` (default `word` + s) unless it is one. */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}
