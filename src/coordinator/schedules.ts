import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { errorMessage, NotFoundError, ValidationError } from '../core/errors.js';
import { ACTIVE_STATES, REDACTED, type Job } from '../core/job.js';
import { checkCron, nextDue, SCHEDULE_NAME, type Schedule } from '../core/schedule.js';
import type { ScheduleView } from '../protocol/messages.js';
import type { JobStore } from '../store/store.js';

/** A schedule as the API, the CLI and drover.yaml give it. */
export interface ScheduleInput {
  name: string;
  /** A period: "5m", or seconds. */
  every?: string | number;
  /** Five or six cron fields. */
  cron?: string;
  timezone?: string;
  /** What to enqueue, as `POST /jobs` takes it. */
  job: Record<string, unknown>;
  paused?: boolean;
}

export type { ScheduleView } from '../protocol/messages.js';

/** The shortest period, ms: a schedule is for minutes and hours, not a busy loop. */
const MIN_EVERY_MS = 1_000;

/**
 * Recurring jobs. Firing runs in maintenance, so on a shared store one coordinator fires (the
 * leader), and each firing is a compare-and-set on the due time besides, so none fires twice.
 * A schedule whose last job is still waiting, queued or running skips its due time: none piles up.
 */
export class Schedules {
  constructor(
    private readonly o: {
      store: JobStore;
      clock: Clock;
      log: Logger;
      /** Checks a job spec (throws a ValidationError naming the field); the params its job keeps secret. */
      validate(spec: unknown): string[];
      /** A job spec with its params sealed, as it is stored (secret-params.ts). */
      seal(spec: Record<string, unknown>, schedule: string): Record<string, unknown>;
      /** A stored job spec with its params opened; throws when it cannot be. */
      open(spec: Record<string, unknown>, schedule: string): Record<string, unknown>;
      enqueue(spec: unknown): Promise<Job>;
      getJob(id: string): Promise<Job | null>;
    },
  ) {}

  /**
   * Checks an input; the schedule it makes, first due after now (a period: one period from now),
   * and whether its timing is `prev`'s (then the stored beat and last run must stay as they are).
   */
  private build(input: unknown, source: Schedule['source'], prev: Schedule | null, checkJob: boolean): { s: Schedule; same: boolean } {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new ValidationError('body: a schedule is an object: {"name", "every" or "cron", "job"}', 'body');
    const i = input as Record<string, unknown>;
    const name = i.name;
    if (typeof name !== 'string' || !SCHEDULE_NAME.test(name)) throw new ValidationError('name: letters, digits and _ . : @ - only, at most 128', 'name');
    if ('' in i) throw new ValidationError('body: a field without a name', 'body');
    for (const k of Object.keys(i)) if (!['name', 'every', 'cron', 'timezone', 'job', 'paused'].includes(k)) throw new ValidationError(`${k}: unknown field of a schedule (it has name, every, cron, timezone, job, paused)`, k);
    if ((i.every === undefined) === (i.cron === undefined)) throw new ValidationError('every or cron: give one (every: 5m, or cron: "*/5 * * * *")', i.every === undefined ? 'every' : 'cron');
    if (i.timezone !== undefined && i.timezone !== null && typeof i.timezone !== 'string') throw new ValidationError('timezone: an IANA name as a string (Europe/Paris), or null', 'timezone');
    const timezone = (i.timezone as string | null | undefined) ?? null;
    let everyMs: number | null = null;
    let cron: string | null = null;
    if (i.every !== undefined) {
      if (timezone !== null) throw new ValidationError('timezone: only with cron', 'timezone');
      everyMs = parseDuration(i.every as string | number, 'every');
      if (everyMs < MIN_EVERY_MS) throw new ValidationError('every: at least 1s', 'every');
    } else {
      if (typeof i.cron !== 'string') throw new ValidationError('cron: five or six fields, as a string ("*/5 * * * *")', 'cron');
      cron = i.cron;
      checkCron(cron, timezone);
    }
    const job = i.job;
    if (typeof job !== 'object' || job === null || Array.isArray(job)) throw new ValidationError('job: required, the job to enqueue ({"kind" or "template", "params", …})', 'job');
    if (checkJob) {
      try {
        this.o.validate(job);
      } catch (err) {
        if (err instanceof ValidationError) throw new ValidationError(`job.${err.message}`, `job.${err.field ?? ''}`);
        throw err;
      }
    }
    const now = this.o.clock.now();
    const timing = { everyMs, cron, timezone };
    // The same timing keeps its beat (a reload, a restart); another starts from now.
    const same = prev !== null && prev.everyMs === everyMs && prev.cron === cron && prev.timezone === timezone;
    const nextRunAt = same ? prev.nextRunAt : everyMs !== null ? now + everyMs : nextDue(timing, now, now);
    // drover.yaml says what is paused; through the API an omitted paused keeps what it was.
    const paused = source === 'config' ? i.paused === true : i.paused === true || (i.paused === undefined && (prev?.paused ?? false));
    const s: Schedule = {
      name,
      ...timing,
      // Sealed whole: which params are secret may depend on a template a worker brings later.
      job: this.o.seal(job as Record<string, unknown>, name),
      paused,
      source,
      nextRunAt,
      lastRunAt: prev?.lastRunAt ?? null,
      lastJobId: prev?.lastJobId ?? null,
      lastSkip: prev?.lastSkip ?? null,
      createdAt: prev?.createdAt ?? now,
      updatedAt: now,
    };
    return { s, same };
  }

  /** Creates or replaces a schedule from the API. */
  async put(input: unknown): Promise<Schedule> {
    const name = (input as { name?: unknown } | null)?.name;
    const prev = typeof name === 'string' ? await this.o.store.getSchedule(name) : null;
    if (prev?.source === 'config') throw new ValidationError(`name: schedule ${name} comes from drover.yaml; change it there`, 'name');
    const { s, same } = this.build(input, 'api', prev, true);
    await this.o.store.putSchedule(s, { keepRun: same });
    return same ? ((await this.o.store.getSchedule(s.name)) ?? s) : s;
  }

  /**
   * drover.yaml's schedules, at start and on reload: each is created or replaced (keeping its beat
   * and its last run), and config schedules no longer in the file are removed. A job that cannot
   * be right (a param missing or wrong) refuses the file, naming it; one naming a template or
   * kind no one knows yet is only warned of (a worker may bring it), and checked when it fires.
   */
  async syncConfig(inputs: ScheduleInput[]): Promise<void> {
    const have = new Map((await this.o.store.listSchedules()).map((s) => [s.name, s]));
    const built = inputs.map((i) => {
      try {
        const prev = have.get(i.name) ?? null;
        if (prev !== null && prev.source !== 'config') throw new ValidationError(`name: a schedule made through the API has this name; remove it first (drover schedule remove ${i.name})`, 'name');
        const built = this.build(i, 'config', prev, false);
        try {
          this.o.validate(i.job);
        } catch (err) {
          if (!(err instanceof ValidationError)) throw err;
          if (!/\bunknown (template|kind)\b/.test(err.message)) throw new ValidationError(`job.${err.message}`, `job.${err.field ?? ''}`);
          this.o.log.warn({ schedule: i.name, err: err.message }, 'a schedule names what no worker has offered yet; its job is checked when it fires');
        }
        return built;
      } catch (err) {
        if (err instanceof ValidationError) throw new ValidationError(`schedules.${i.name}.${err.message}`, `schedules.${i.name}.${err.field ?? ''}`);
        throw err;
      }
    });
    for (const { s, same } of built) await this.o.store.putSchedule(s, { keepRun: same });
    const keep = new Set(built.map(({ s }) => s.name));
    for (const s of have.values()) if (s.source === 'config' && !keep.has(s.name)) await this.o.store.deleteSchedule(s.name);
  }

  /** Every schedule, with the state of the job it enqueued last; secret params shown as `***`. */
  async list(): Promise<ScheduleView[]> {
    return Promise.all((await this.o.store.listSchedules()).map((s) => this.viewOf(s)));
  }

  /** One schedule as `list` shows it. */
  async view(name: string): Promise<ScheduleView> {
    return this.viewOf(await this.mustGet(name));
  }

  private async viewOf(s: Schedule): Promise<ScheduleView> {
    const lastJobState = s.lastJobId ? ((await this.o.getJob(s.lastJobId))?.state ?? null) : null;
    return { ...s, job: this.redacted(s.job, s.name), lastJobState };
  }

  /**
   * A stored job spec with the params its job would keep secret hidden (all of them when it no
   * longer resolves, or cannot be opened). Opened here only to tell which params are secret.
   */
  private redacted(spec: Record<string, unknown>, schedule: string): Record<string, unknown> {
    const params = spec.params;
    if (typeof params !== 'object' || params === null) return spec;
    try {
      const plain = this.o.open(spec, schedule);
      const secrets = this.o.validate(plain);
      return { ...spec, params: Object.fromEntries(Object.entries(plain.params as Record<string, unknown>).map(([k, v]) => [k, secrets.includes(k) ? REDACTED : v])) };
    } catch {
      return { ...spec, params: Object.fromEntries(Object.keys(params).map((k) => [k, REDACTED])) };
    }
  }

  async remove(name: string): Promise<void> {
    const s = await this.mustGet(name);
    if (s.source === 'config') throw new ValidationError(`schedule ${name} comes from drover.yaml; remove it there`, 'name');
    await this.o.store.deleteSchedule(name);
  }

  /** Pauses or resumes; a resumed schedule is next due at its first time after now. */
  async setPaused(name: string, paused: boolean): Promise<Schedule> {
    const s = await this.mustGet(name);
    // drover.yaml says what is paused: a pause from here would be undone by the next reload.
    if (s.source === 'config') throw new ValidationError(`schedule ${name} comes from drover.yaml; set paused: ${paused} there (and reload: SIGHUP)`, 'name');
    const now = this.o.clock.now();
    const next: Schedule = { ...s, paused, updatedAt: now, nextRunAt: paused ? s.nextRunAt : nextDue(s, now, s.everyMs !== null ? s.nextRunAt : now) };
    // Pausing changes the definition only (a firing meanwhile stays recorded); a paused one does not fire, so resuming may set its beat.
    await this.o.store.putSchedule(next, { keepRun: paused });
    return paused ? ((await this.o.store.getSchedule(name)) ?? next) : next;
  }

  private async mustGet(name: string): Promise<Schedule> {
    const s = await this.o.store.getSchedule(name);
    if (!s) throw new NotFoundError(`no schedule ${name}`);
    return s;
  }

  /**
   * Fires every schedule due at `now`: once, however many due times it missed (a coordinator
   * that was down), then it keeps its beat. Maintenance calls it, on the leader only.
   */
  async fireDue(now: number): Promise<number> {
    let fired = 0;
    for (const s of await this.o.store.listSchedules()) {
      if (s.paused || s.nextRunAt > now) continue;
      const to = nextDue(s, now, s.nextRunAt);
      const state = s.lastJobId ? ((await this.o.getJob(s.lastJobId))?.state ?? null) : null;
      if (state !== null && (ACTIVE_STATES as readonly string[]).includes(state)) {
        await this.o.store.advanceSchedule({ name: s.name, from: s.nextRunAt, to, firedAt: now, jobId: null, skip: `its last job ${s.lastJobId} is still ${state}` });
        continue;
      }
      // The due time is taken first: of two coordinators, the one that loses enqueues nothing.
      if (!(await this.o.store.advanceSchedule({ name: s.name, from: s.nextRunAt, to, firedAt: now, jobId: null, skip: null }))) continue;
      let job: Job;
      try {
        // Opened for the enqueue only: the job is sealed again, under its own id.
        job = await this.o.enqueue(this.o.open(s.job, s.name));
      } catch (err) {
        await this.o.store.advanceSchedule({ name: s.name, from: to, to, firedAt: now, jobId: null, skip: `its job was refused: ${errorMessage(err)}`, recordOnly: true });
        this.o.log.warn({ schedule: s.name, err: errorMessage(err) }, 'schedule fired, but its job was refused');
        continue;
      }
      fired++;
      // Recorded even if it was paused meanwhile: the next firing must see this job.
      await this.o.store.advanceSchedule({ name: s.name, from: to, to, firedAt: now, jobId: job.id, skip: null, recordOnly: true });
      this.o.log.info({ schedule: s.name, job: job.id, next: new Date(to).toISOString() }, 'schedule fired');
    }
    return fired;
  }
}
