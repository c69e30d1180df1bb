import type { DataSource, EntityManager, QueryDeepPartialEntity } from "typeorm";
import type { Backend } from "../backend";
import { NotFoundError } from "../core/errors";
import { HrpCronJob } from "../schema/entities/HrpCronJob";
import { ScheduledJobLog, ScheduledJobType } from "../schema/entities/ScheduledJobType";

/**
 * The SQL of the scheduler: Scheduled Job Types, their log, and the
 * `hrp_cron_scheduler` row (controls and the leader lease).
 */

/** The scheduler's persisted state. */
export interface SchedulerStatus {
  readonly enabled: boolean;
  readonly paused: boolean;
  readonly leaderId: string | null;
  readonly leaderUntil: Date | null;
  readonly lastTick: Date | null;
}

/** A Scheduled Job Type's columns (everything but its id). */
export type NewJobType = Omit<QueryDeepPartialEntity<ScheduledJobType>, "id">;

/** Every type, in id order; `stoppedToo: false` leaves stopped types out. */
export function allTypes(m: EntityManager, stoppedToo = true): Promise<ScheduledJobType[]> {
  return m.find(ScheduledJobType, { where: stoppedToo ? {} : { stopped: false }, order: { id: "ASC" } });
}

/** Every type, in id order, outside any transaction. */
export function listTypes(dataSource: DataSource): Promise<ScheduledJobType[]> {
  return dataSource.manager.find(ScheduledJobType, { order: { id: "ASC" } });
}

export function findTypeByMethod(m: EntityManager, method: string): Promise<ScheduledJobType | null> {
  return m.findOneBy(ScheduledJobType, { method });
}

export async function insertType(m: EntityManager, values: NewJobType): Promise<void> {
  await m.insert(ScheduledJobType, values);
}

/** Saves a new type; returns it with its id. */
export function saveType(m: EntityManager, values: NewJobType): Promise<ScheduledJobType> {
  return m.save(m.create(ScheduledJobType, values as Partial<ScheduledJobType>));
}

export async function updateType(
  m: EntityManager,
  typeId: number,
  values: QueryDeepPartialEntity<ScheduledJobType>,
): Promise<void> {
  await m.update(ScheduledJobType, { id: typeId }, values);
}

export async function deleteType(m: EntityManager, typeId: number): Promise<void> {
  await m.delete(ScheduledJobType, { id: typeId });
}

/** @throws NotFoundError when there is no such type */
export async function setTypeStopped(m: EntityManager, typeId: number, stopped: boolean): Promise<void> {
  const result = await m.update(ScheduledJobType, { id: typeId }, { stopped });
  if (!result.affected) throw new NotFoundError("scheduled_job_type", typeId);
}

/** The job a type enqueued last, if it still exists. */
export function findJob(m: EntityManager, jobId: number): Promise<HrpCronJob | null> {
  return m.findOneBy(HrpCronJob, { id: jobId });
}

/** A `Start` log row for the job a type enqueued for its occurrence `scheduledFor`. */
export async function logStart(
  m: EntityManager,
  type: ScheduledJobType,
  jobId: number,
  scheduledFor: Date,
  now: Date,
): Promise<void> {
  await m.insert(ScheduledJobLog, {
    scheduledJobTypeId: type.id,
    method: type.method,
    status: "Start",
    hrpCronJobId: jobId,
    scheduledFor,
    dateStart: now,
    dateEnd: null,
    error: null,
  });
}

/** Type `typeId`, or null. */
export function findType(m: EntityManager, typeId: number): Promise<ScheduledJobType | null> {
  return m.findOneBy(ScheduledJobType, { id: typeId });
}

/**
 * A `Start` log row for a job an operator enqueued by hand ("run now"): no
 * occurrence (`scheduled_for` null); closed as any run's by the next tick.
 */
export async function logManualStart(
  m: EntityManager,
  type: ScheduledJobType,
  jobId: number,
  now: Date,
): Promise<void> {
  await m.insert(ScheduledJobLog, {
    scheduledJobTypeId: type.id,
    method: type.method,
    status: "Start",
    hrpCronJobId: jobId,
    scheduledFor: null,
    dateStart: now,
    dateEnd: null,
    error: null,
  });
}

/** The `Start` row of a job declared stuck becomes `Failed` with `reason`. */
export async function logStuck(
  backend: Backend,
  m: EntityManager,
  jobId: number,
  now: Date,
  reason: string,
): Promise<void> {
  await backend.execute(
    m,
    `UPDATE scheduled_job_log SET status = 'Failed', date_end = ?, error = ? WHERE hrp_cron_job_id = ? AND status = 'Start'`,
    [backend.toDbDate(now), `stuck: ${reason}`, jobId],
  );
}

/** `Start` rows whose job ended become `Complete` or `Failed` (with the job's error). */
export async function closeFinishedLogs(backend: Backend, m: EntityManager, now: Date): Promise<void> {
  const open = await backend.query<{ id: number; state: string; exc_info: string | null; date_done: unknown }>(
    m,
    `SELECT l.id, j.state, j.exc_info, j.date_done FROM scheduled_job_log l JOIN hrp_cron_job j ON j.id = l.hrp_cron_job_id
      WHERE l.status = 'Start' AND j.state IN ('done', 'failed', 'cancelled', 'stopped')`,
  );
  for (const row of open) {
    const status = row.state === "done" ? "Complete" : "Failed";
    await backend.execute(m, `UPDATE scheduled_job_log SET status = ?, date_end = ?, error = ? WHERE id = ?`, [
      status,
      backend.toDbDate(backend.fromDbDate(row.date_done) ?? now),
      status === "Failed" ? (row.exc_info ?? row.state) : null,
      row.id,
    ]);
  }
}

/**
 * Takes or renews the leader lease for `leaderId` until `until`, in the
 * tick's transaction, if the scheduler is enabled, not paused, and the
 * lease is free, expired or already `leaderId`'s; returns whether it did.
 * On PostgreSQL the row lock makes a concurrent tick wait and then fail the
 * condition; on SQLite the write lock serialises ticks.
 */
export async function takeLease(
  backend: Backend,
  m: EntityManager,
  leaderId: string,
  until: Date,
  now: Date,
): Promise<boolean> {
  const d = (x: Date) => backend.toDbDate(x);
  const won = await backend.execute(
    m,
    `UPDATE hrp_cron_scheduler SET leader_id = ?, leader_until = ?, last_tick = ?
      WHERE id = 1 AND enabled = TRUE AND paused = FALSE AND (leader_id IS NULL OR leader_id = ? OR leader_until < ?)`,
    [leaderId, d(until), d(now), leaderId, d(now)],
  );
  return won > 0;
}

/** Gives up `leaderId`'s lease (another scheduler takes over at its next tick). */
export async function releaseLease(backend: Backend, leaderId: string): Promise<void> {
  await backend.transaction((m) =>
    backend.execute(
      m,
      `UPDATE hrp_cron_scheduler SET leader_id = NULL, leader_until = NULL WHERE id = 1 AND leader_id = ?`,
      [leaderId],
    ),
  );
}

/** Persisted controls (null: unchanged). */
export async function setSchedulerControl(
  backend: Backend,
  m: EntityManager,
  paused: boolean | null,
  enabled: boolean | null,
): Promise<void> {
  await backend.execute(
    m,
    `UPDATE hrp_cron_scheduler SET paused = COALESCE(?, paused), enabled = COALESCE(?, enabled) WHERE id = 1`,
    [paused, enabled],
  );
}

/** The scheduler's row, read in a transaction of its own, or with `manager` as a statement on it. */
export async function schedulerStatus(backend: Backend, manager?: EntityManager): Promise<SchedulerStatus> {
  const read = (m: EntityManager) =>
    backend.query<Record<string, unknown>>(m, `SELECT * FROM hrp_cron_scheduler WHERE id = 1`);
  const [row] = manager ? await read(manager) : await backend.transaction(read);
  return {
    enabled: backend.fromDbBool(row.enabled),
    paused: backend.fromDbBool(row.paused),
    leaderId: (row.leader_id as string | null) ?? null,
    leaderUntil: backend.fromDbDate(row.leader_until),
    lastTick: backend.fromDbDate(row.last_tick),
  };
}

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
  backend: Backend,
  manager: EntityManager,
  type: ScheduledJobType,
  now: Date,
  scheduledFor: Date | null,
  reason: string,
): Promise<boolean> {
  if (scheduledFor === null) {
    const [latest] = await backend.query<{ status: string; error: string | null }>(
      manager,
      `SELECT status, error FROM scheduled_job_log WHERE scheduled_job_type_id = ? ORDER BY id DESC LIMIT 1`,
      [type.id],
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
    id: Number(r.id),
    method: r.method,
    failedAt: backend.fromDbDate(r.date_end),
    error: (r.error ?? "").split("\n")[0],
  }));
}
