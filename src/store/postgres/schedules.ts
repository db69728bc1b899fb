import type pg from 'pg';
import type { Schedule } from '../../core/schedule.js';
import { DEFINITION_COLUMNS, rowToSchedule, SCHEDULE_COLUMNS, scheduleValues, type ScheduleAdvance, type ScheduleRow } from '../schedule-rows.js';

const UPSERT = `INSERT INTO schedules (${SCHEDULE_COLUMNS.join(', ')}) VALUES (${SCHEDULE_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})
  ON CONFLICT (name) DO UPDATE SET ${SCHEDULE_COLUMNS.filter((c) => c !== 'name').map((c) => `${c} = excluded.${c}`).join(', ')}`;

const DEFINE = `INSERT INTO schedules (${SCHEDULE_COLUMNS.join(', ')}) VALUES (${SCHEDULE_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})
  ON CONFLICT (name) DO UPDATE SET ${DEFINITION_COLUMNS.map((c) => `${c} = excluded.${c}`).join(', ')}`;

/** The schedules table in PostgreSQL. */
export class PgSchedules {
  constructor(private readonly pool: pg.Pool) {}

  async putSchedule(s: Schedule, o: { keepRun?: boolean } = {}): Promise<void> {
    await this.pool.query(o.keepRun ? DEFINE : UPSERT, scheduleValues(s, (b) => b));
  }

  async getSchedule(name: string): Promise<Schedule | null> {
    const { rows } = await this.pool.query<ScheduleRow>('SELECT * FROM schedules WHERE name = $1', [name]);
    return rows[0] ? rowToSchedule(rows[0]) : null;
  }

  async listSchedules(): Promise<Schedule[]> {
    return (await this.pool.query<ScheduleRow>('SELECT * FROM schedules ORDER BY name')).rows.map(rowToSchedule);
  }

  async deleteSchedule(name: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM schedules WHERE name = $1', [name])).rowCount ?? 0) > 0;
  }

  /** A compare-and-set on next_run_at: of coordinators firing together, one wins. */
  async advanceSchedule(p: ScheduleAdvance): Promise<boolean> {
    const r = await this.pool.query(
      `UPDATE schedules SET next_run_at = $3, last_run_at = $4, last_job_id = COALESCE($5, last_job_id), last_skip = $6, updated_at = $4
        WHERE name = $1 AND next_run_at = $2 AND (NOT paused OR $7)`,
      [p.name, p.from, p.to, p.firedAt, p.jobId, p.skip, p.recordOnly === true],
    );
    return (r.rowCount ?? 0) > 0;
  }
}
