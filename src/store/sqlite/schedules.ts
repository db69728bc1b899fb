import type Database from 'better-sqlite3';
import type { Schedule } from '../../core/schedule.js';
import { DEFINITION_COLUMNS, rowToSchedule, SCHEDULE_COLUMNS, scheduleValues, type ScheduleAdvance, type ScheduleRow } from '../schedule-rows.js';

/** The schedules table in SQLite. */
export class SqliteSchedules {
  private readonly put: Database.Statement;
  private readonly define: Database.Statement;
  private readonly get: Database.Statement;
  private readonly all: Database.Statement;
  private readonly del: Database.Statement;
  private readonly advance: Database.Statement;

  constructor(db: Database.Database) {
    this.put = db.prepare(`INSERT OR REPLACE INTO schedules (${SCHEDULE_COLUMNS.join(', ')}) VALUES (${SCHEDULE_COLUMNS.map(() => '?').join(', ')})`);
    this.define = db.prepare(`INSERT INTO schedules (${SCHEDULE_COLUMNS.join(', ')}) VALUES (${SCHEDULE_COLUMNS.map(() => '?').join(', ')})
      ON CONFLICT (name) DO UPDATE SET ${DEFINITION_COLUMNS.map((c) => `${c} = excluded.${c}`).join(', ')}`);
    this.get = db.prepare('SELECT * FROM schedules WHERE name = ?');
    this.all = db.prepare('SELECT * FROM schedules ORDER BY name');
    this.del = db.prepare('DELETE FROM schedules WHERE name = ?');
    this.advance = db.prepare(`UPDATE schedules SET next_run_at = @to, last_run_at = @firedAt, last_job_id = COALESCE(@jobId, last_job_id),
        last_skip = @skip, updated_at = @firedAt WHERE name = @name AND next_run_at = @from AND (paused = 0 OR @recordOnly = 1)`);
  }

  putSchedule(s: Schedule, o: { keepRun?: boolean } = {}): void {
    (o.keepRun ? this.define : this.put).run(...scheduleValues(s, (b) => (b ? 1 : 0)));
  }

  getSchedule(name: string): Schedule | null {
    const r = this.get.get(name) as ScheduleRow | undefined;
    return r ? rowToSchedule(r) : null;
  }

  listSchedules(): Schedule[] {
    return (this.all.all() as ScheduleRow[]).map(rowToSchedule);
  }

  deleteSchedule(name: string): boolean {
    return this.del.run(name).changes > 0;
  }

  advanceSchedule(p: ScheduleAdvance): boolean {
    return this.advance.run({ ...p, recordOnly: p.recordOnly ? 1 : 0 }).changes > 0;
  }
}
