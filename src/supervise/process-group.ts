/**
 * Sends `sig` to every process of the group `pgid` (`process.kill(-pgid, sig)`; signal 0 only
 * checks). Returns false when no process of the group is left (ESRCH), true otherwise — also when
 * the group exists but may not be signalled by us (EPERM). Never throws for a dead group.
 */
export function signalGroup(pgid: number, sig: NodeJS.Signals | 0): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) throw new RangeError(`not a process group id: ${pgid}`);
  try {
    process.kill(-pgid, sig);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return false;
    if (code === 'EPERM') return true;
    throw err;
  }
}

/** True while any process of the group `pgid` exists (zombies not yet reaped count as existing). */
export function groupAlive(pgid: number): boolean {
  return signalGroup(pgid, 0);
}
