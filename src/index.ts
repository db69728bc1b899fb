/**
 * Drover's public API: `import { DroverClient } from 'drover'`. The typed client of a
 * coordinator, its errors, and the types of what it sends and answers.
 */
export { DroverClient, type DroverClientOptions, type EnqueueOptions } from './client/drover-client.js';
export { ApiError, UnreachableError } from './client/api-client.js';
export { DroverError } from './core/errors.js';
export { JOB_STATES, FINAL_STATES, ACTIVE_STATES, isJobState } from './core/job.js';
export type { Attempt, Job, JobState, LeasedJob, Lease, Outcome, Params, ParamValue, Progress, StopReason } from './core/job.js';
export type { CountFilter, JobPage, ListFilter } from './core/job-filter.js';
export type { CompleteAnswer, CompleteItem, HeartbeatAnswer, HeartbeatItem, LogChunk, ParamSpec, StoredLogChunk, TemplateInfo, TemplateSummary, WorkerInfo, WorkerRecord, WorkerView } from './core/reports.js';
export type { ErrorAnswer, JobDetail, JobSpec, LeaseAnswer, LeaseRequest, LogsAnswer, HeartbeatRequest, HeartbeatReply, PurgeRequest, StatsAnswer, StopOrder, WorkerPulse } from './protocol/messages.js';
export type { TokenInfo, TokenRole } from './core/access-token.js';
export type { CreateTokenRequest, CreatedTokenAnswer, RevokedTokenAnswer } from './protocol/token-messages.js';
