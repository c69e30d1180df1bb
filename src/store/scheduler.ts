import type { EntityManager } from "typeorm";
import type { ScheduledJobType } from "../schema/entities/ScheduledJobType";
import type { Backend } from "../backend";

/** A Scheduled Job Type whose latest run (or attempt to enqueue one) failed, as `hrp-cron doctor` lists it. */
export interface FailingType {
  readonly id: number;
  readonly method: string;
  /** When the failure was recorded (the end of its log row). */
  readonly failedAt: Date | null;
  /** The recorded error (its first line). */
  readonly error: string;
}

/**
 * Records that a Scheduled Job Type could not be enqueued: a `Failed` row in
 * `scheduled_job_log` with the reason, in `manager`'s transaction.
 *
 * With `scheduledFor` (the due occurrence that failed) the row is always
 * written: the caller then moves the type past that occurrence, so a type
 * that keeps failing writes one row per occurrence. Without it (the stored
 * schedule itself cannot be computed, so there is no occurrence to move
 * past) the row is written only when the type's latest row is not already
 * this same failure, so a broken type does not write a row every tick.
 * Returns whether a row was written.
 */
export async function recordTypeFailure(
  backend: Backend, manager: EntityManager, type: ScheduledJobType, now: Date, scheduledFor: Date | null, reason: string,
): Promise<boolean> {
  if (scheduledFor === null) {
    const [latest] = await backend.query<{ status: string; error: string | null }>(
      manager, `SELECT status, error FROM scheduled_job_log WHERE scheduled_job_type_id = ? ORDER BY id DESC LIMIT 1`, [type.id],
    );
    if (latest?.status === "Failed" && latest.error === reason) return false;
  }
  const at = backend.toDbDate(now);
  await backend.execute(
    manager,
    `INSERT INTO scheduled_job_log (scheduled_job_type_id, method, status, hrp_cron_job_id, scheduled_for, date_start, date_end, error)
     VALUES (?, ?, 'Failed', NULL, ?, ?, ?, ?)`,
    [type.id, type.method, scheduledFor === null ? null : backend.toDbDate(scheduledFor), at, at, reason],
  );
  return true;
}

/** Types whose latest `scheduled_job_log` row is `Failed` (an enqueue refused, or a run that failed), by type id. */
export async function failingTypes(backend: Backend, manager: EntityManager): Promise<FailingType[]> {
  const rows = await backend.query<{ id: unknown; method: string; date_end: unknown; error: string | null }>(
    manager,
    `SELECT t.id, t.method, l.date_end, l.error
       FROM scheduled_job_type t
       JOIN scheduled_job_log l ON l.id = (SELECT MAX(x.id) FROM scheduled_job_log x WHERE x.scheduled_job_type_id = t.id)
      WHERE l.status = 'Failed'
      ORDER BY t.id`,
  );
  return rows.map((r) => ({
    id: Number(r.id), method: r.method, failedAt: backend.fromDbDate(r.date_end), error: (r.error ?? "").split("\n")[0],
  }));
}
