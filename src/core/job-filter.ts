import type { Job, JobState } from './job.js';

/** Page sizes of a list: 100 unless asked, at most 1000. */
export const LIST_DEFAULTS = { limit: 100, maxLimit: 1000 } as const;

/** How jobs are looked up: by the API's list and count routes, and by every store. */
export interface ListFilter {
  state?: JobState[];
  queue?: string;
  owner?: string;
  tag?: string;
  template?: string;
  kind?: string;
  /** Only the children of this job. */
  parent?: string;
  /** Only the jobs whose last attempt this worker ran (with state running: those it holds now). */
  worker?: string;
  /** Only jobs that finished at or after this time (epoch ms). */
  finishedSince?: number;
  /** Only jobs created or finished at or after this time (epoch ms): what happened since. */
  since?: number;
  /**
   * Text search, case-insensitive: jobs whose id, error or a param value contains this. Secret
   * params are never searched (their values are sealed, and left out by name as well).
   */
  q?: string;
  /**
   * `created` (the default): by id, which is creation order. `finished`: by finish time, then id;
   * only finished jobs are listed.
   */
  sort?: ListSort;
  /** `asc` (the default: oldest first) or `desc` (newest first). */
  order?: 'asc' | 'desc';
  /** Return jobs after the cursor in the order asked — the `nextCursor` of the previous page (an id; `FINISHED_AT:ID` when sorted by finish time). */
  cursor?: string;
  /** Page size. Default 100, at most 1000. */
  limit?: number;
}
export type CountFilter = Omit<ListFilter, 'cursor' | 'limit' | 'state' | 'order' | 'sort'>;

/** What a list can be sorted by. */
export const LIST_SORTS = ['created', 'finished'] as const;
export type ListSort = (typeof LIST_SORTS)[number];

export interface JobPage {
  jobs: Job[];
  /** Pass as `cursor` for the next page; null on the last one. */
  nextCursor: string | null;
}
