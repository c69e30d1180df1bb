import type { EntityManager } from "typeorm";
import type { Backend } from "../backend";

/**
 * The reads of a health overview (the dashboard's first page): jobs counted
 * by queue and state, runs counted over time, the oldest due job that still
 * waits, the methods whose runs fail most, and the scheduler's latest
 * enqueue failures (its tick errors). Runs are read from the
 * `hrp_cron_runs` view (run-log rows and done one-shot jobs, migration
 * 0012), by when they ended.
 */

/** Jobs of one queue in one state. */
export interface JobCount {
  readonly queue: string;
  readonly state: string;
  readonly count: number;
}

/** The runs that ended in one period of {@link runsOverTime}. */
export interface RunBucket {
  /** The period's start; it lasts `periodMs`. */
  readonly start: Date;
  readonly done: number;
  /** Runs that failed, or were interrupted by the death of their worker. */
  readonly failed: number;
  /** Runs stopped on request (`stopJob`): neither a success nor a failure. */
  readonly stopped: number;
}

/** The pending job that has been due longest. */
export interface OldestDue {
  readonly id: number;
  readonly name: string;
  readonly queue: string;
  readonly method: string;
  /** When it became due. */
  readonly dueAt: Date;
}

/** A method whose runs failed in a time window, with how many of its runs ended there. */
export interface FailingMethod {
  readonly method: string;
  readonly runs: number;
  readonly failed: number;
  readonly lastFailedAt: Date | null;
}

const FAILED = "state IN ('failed', 'interrupted')";

/** Jobs per queue and state (every job row: one scan of `hrp_cron_job`), by queue then state. */
export async function jobCounts(backend: Backend, m: EntityManager): Promise<JobCount[]> {
  const rows = await backend.query<{ queue: string; state: string; n: unknown }>(
    m,
    `SELECT queue, state, COUNT(*) AS n FROM hrp_cron_job GROUP BY queue, state ORDER BY queue, state`,
  );
  return rows.map((r) => ({ queue: r.queue, state: r.state, count: Number(r.n) }));
}

/**
 * Runs that ended from `since` on, counted per period of `periodMs` and
 * per outcome, for `periods` periods: one entry per period, in time order,
 * zeros included. The bucketing is done by the database
 * ({@link Backend.timeBucket}), so the rows read are one per period at most.
 */
export async function runsOverTime(
  backend: Backend,
  m: EntityManager,
  since: Date,
  periodMs: number,
  periods: number,
): Promise<RunBucket[]> {
  const until = new Date(since.getTime() + periodMs * periods);
  const rows = await backend.query<{ b: unknown; done: unknown; failed: unknown; stopped: unknown }>(
    m,
    `SELECT b, SUM(CASE WHEN state = 'done' THEN 1 ELSE 0 END) AS done,
            SUM(CASE WHEN ${FAILED} THEN 1 ELSE 0 END) AS failed,
            SUM(CASE WHEN state = 'stopped' THEN 1 ELSE 0 END) AS stopped
       FROM (SELECT ${backend.timeBucket("date_end")} AS b, state FROM hrp_cron_runs WHERE date_end >= ? AND date_end < ?) r
      GROUP BY b ORDER BY b`,
    [...backend.timeBucketParams(since, periodMs), backend.toDbDate(since), backend.toDbDate(until)],
  );
  const byIndex = new Map(rows.map((r) => [Number(r.b), r]));
  return Array.from({ length: periods }, (_, i) => {
    const r = byIndex.get(i);
    return {
      start: new Date(since.getTime() + i * periodMs),
      done: Number(r?.done ?? 0),
      failed: Number(r?.failed ?? 0),
      stopped: Number(r?.stopped ?? 0),
    };
  });
}

/** The pending job due longest before `now` (null when none waits). */
export async function oldestDue(backend: Backend, m: EntityManager, now: Date): Promise<OldestDue | null> {
  const [row] = await backend.query<{
    id: unknown;
    name: string;
    queue: string;
    model: string;
    function: string;
    nextcall: unknown;
  }>(
    m,
    `SELECT id, name, queue, model, function, nextcall FROM hrp_cron_job
      WHERE state = 'pending' AND nextcall <= ? ORDER BY nextcall, id LIMIT 1`,
    [backend.toDbDate(now)],
  );
  if (!row) return null;
  return {
    id: Number(row.id),
    name: row.name,
    queue: row.queue,
    method: `${row.model}.${row.function}`,
    dueAt: backend.fromDbDate(row.nextcall)!,
  };
}

/** The `limit` methods with the most failed (or interrupted) runs that ended from `since` on, most first. */
export async function failingMethods(
  backend: Backend,
  m: EntityManager,
  since: Date,
  limit: number,
): Promise<FailingMethod[]> {
  const rows = await backend.query<{ model: string; function: string; n: unknown; failed: unknown; last: unknown }>(
    m,
    `SELECT model, function, COUNT(*) AS n, SUM(CASE WHEN ${FAILED} THEN 1 ELSE 0 END) AS failed,
            MAX(CASE WHEN ${FAILED} THEN date_end END) AS last
       FROM hrp_cron_runs WHERE date_end >= ?
      GROUP BY model, function
     HAVING SUM(CASE WHEN ${FAILED} THEN 1 ELSE 0 END) > 0
      ORDER BY failed DESC, model, function LIMIT ?`,
    [backend.toDbDate(since), limit],
  );
  return rows.map((r) => ({
    method: `${r.model}.${r.function}`,
    runs: Number(r.n),
    failed: Number(r.failed),
    lastFailedAt: backend.fromDbDate(r.last),
  }));
}

/** A Scheduled Job Type the scheduler could not enqueue (a `Failed` log row without a job), as its tick recorded it. */
export interface TypeEnqueueFailure {
  readonly typeId: number;
  readonly method: string;
  readonly at: Date | null;
  /** The recorded reason (its first line). */
  readonly error: string;
}

/** The latest `limit` enqueue failures of the scheduler's ticks (`recordTypeFailure`, store/scheduler.ts), newest first. */
export async function recentEnqueueFailures(
  backend: Backend,
  manager: EntityManager,
  limit: number,
): Promise<TypeEnqueueFailure[]> {
  const rows = await backend.query<{ t: unknown; method: string; date_end: unknown; error: string | null }>(
    manager,
    `SELECT scheduled_job_type_id AS t, method, date_end, error FROM scheduled_job_log
      WHERE status = 'Failed' AND hrp_cron_job_id IS NULL ORDER BY id DESC LIMIT ?`,
    [limit],
  );
  return rows.map((r) => ({
    typeId: Number(r.t),
    method: r.method,
    at: backend.fromDbDate(r.date_end),
    error: (r.error ?? "").split("\n")[0],
  }));
}
