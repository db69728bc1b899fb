/**
 * The JobStore contract: one suite every storage backend must pass unchanged (River's
 * `riverdrivertest.Exercise` idea), in one file per area. It asserts the domain errors of
 * `core/errors.ts` and the rules of `store/transitions.ts` as every backend must apply them.
 */
import { afterEach, beforeEach, describe } from 'vitest';
import { cancelRetryContract } from './cancel-retry.js';
import { childrenContract } from './children.js';
import { claimContract } from './claim.js';
import { completeContract } from './complete.js';
import { countsContract } from './counts.js';
import { enqueueContract } from './enqueue.js';
import { enqueueKeysContract } from './enqueue-keys.js';
import { Harness, type OpenedStore } from './harness.js';
import { heartbeatContract } from './heartbeat.js';
import { leadershipContract } from './leadership.js';
import { listContract } from './list.js';
import { logsContract } from './logs.js';
import { queuesContract } from './queues.js';
import { maintenanceContract } from './maintenance.js';
import { retentionContract } from './retention.js';
import { schedulesContract } from './schedules.js';
import { searchContract } from './search.js';
import { secretsContract } from './secrets.js';
import { tokensContract } from './tokens.js';
import { workersContract } from './workers.js';

export { jobFixture, T0, type OpenedStore } from './harness.js';

/** Runs the whole contract against the backend `open` creates: a fresh, empty store per test. */
export function runStoreContract(name: string, open: () => Promise<OpenedStore>): void {
  describe(`JobStore contract: ${name}`, () => {
    const h = new Harness();
    let cleanup: (() => Promise<void>) | undefined;
    beforeEach(async () => {
      const opened = await open();
      h.reset(opened);
      cleanup = opened.cleanup;
    });
    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });
    enqueueContract(h);
    enqueueKeysContract(h);
    queuesContract(h);
    childrenContract(h);
    listContract(h);
    countsContract(h);
    searchContract(h);
    claimContract(h);
    heartbeatContract(h);
    completeContract(h);
    cancelRetryContract(h);
    maintenanceContract(h);
    retentionContract(h);
    logsContract(h);
    workersContract(h);
    schedulesContract(h);
    secretsContract(h);
    tokensContract(h);
    leadershipContract(h);
  });
}
