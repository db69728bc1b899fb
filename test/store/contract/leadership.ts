import { describe, expect, it } from 'vitest';
import type { Harness } from './harness.js';

/** The contract, leadership: on a shared store one coordinator at a time runs maintenance. */
export function leadershipContract(h: Harness): void {
  describe('leadership', () => {
    it('a store for one coordinator has no lead to take and no notifications; a shared one passes the lead on when its leader goes', async () => {
      if (!h.store.shared) {
        expect(h.store.tryLead).toBeUndefined();
        expect(h.store.subscribe).toBeUndefined();
        return;
      }
      expect(h.store.tryLead).toBeTypeOf('function');
      const a = await h.another();
      const b = await h.another();
      expect(await a.tryLead!()).toBe(true);
      expect(await a.tryLead!()).toBe(true);
      expect(await b.tryLead!()).toBe(false);
      await a.close();
      expect(await b.tryLead!()).toBe(true);
      await b.close();
    });
  });
}
