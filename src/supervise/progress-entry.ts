/** A `-progress` block as FF WRAPPER keeps it: every space removed from each `key=value`, the pairs joined by one. */
export function progressEntry(blockLines: readonly string[]): string {
  return blockLines.map((l) => (l.includes(' ') ? l.replace(/ /g, '') : l)).join(' ');
}
