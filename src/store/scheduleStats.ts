import { LessThan, type DataSource, type FindOptionsWhere } from "typeorm";
import { backendFor } from "../backend";
import { HrpCronRunLog } from "../schema/entities/HrpCronRunLog";
import { ScheduledJobLog } from "../schema/entities/ScheduledJobType";

/**
 * Reads of scheduled actions' runs for the dashboard's Scheduled actions
 * pages (and anyone reporting on them): run statistics over a period, the
 * latest runs (sparklines) and the run log page by page. Recurring crons'
 * runs are `hrp_cron_run_log` rows; Scheduled Job Types' are
 * `scheduled_job_log` rows. Outside any transaction.
 */

/** Runs of one cron or type in a period. */
export interface RunStats {
  /** Finished runs (done, failed, stopped, interrupted; for a type: Complete or Failed). */
  readonly runs: number;
  /** Runs that did not end well (failed, stopped, interrupted; for a type: Failed). */
  readonly failures: number;
  /** Mean run time of the runs with a known duration, or null when none has one. */
  readonly avgMs: number | null;
}

/** One run, as a sparkline bar: how it ended and how long it took (null: unknown). */
export interface RunMark {
  readonly ok: boolean;
  readonly durationMs: number | null;
}

/** Run statistics of every recurring cron that ran since `since`, by cron id. */
export async function cronRunStats(dataSource: DataSource, since: Date): Promise<Map<number, RunStats>> {
  const backend = backendFor(dataSource);
  const rows = await backend.query<{ cron_id: unknown; runs: unknown; failures: unknown; avg_ms: unknown }>(
    dataSource.manager,
    `SELECT cron_id, COUNT(*) AS runs, SUM(CASE WHEN state = 'done' THEN 0 ELSE 1 END) AS failures, AVG(duration_ms) AS avg_ms
       FROM hrp_cron_run_log WHERE hrp_cron_job_id IS NULL AND date_start >= ? GROUP BY cron_id`,
    [backend.toDbDate(since)],
  );
  return new Map(
    rows.map((r) => [
      Number(r.cron_id),
      {
        runs: Number(r.runs),
        failures: Number(r.failures),
        avgMs: r.avg_ms === null || r.avg_ms === undefined ? null : Number(r.avg_ms),
      },
    ]),
  );
}

/** The latest `n` runs of each of `cronIds`, oldest first (one indexed read per cron). */
export async function recentCronRuns(
  dataSource: DataSource,
  cronIds: readonly number[],
  n: number,
): Promise<Map<number, RunMark[]>> {
  const out = new Map<number, RunMark[]>();
  for (const cronId of cronIds) {
    const rows = await dataSource.manager.find(HrpCronRunLog, {
      select: { id: true, state: true, durationMs: true },
      where: { cronId },
      order: { id: "DESC" },
      take: n,
    });
    out.set(
      cronId,
      rows.reverse().map((r) => ({ ok: r.state === "done", durationMs: r.durationMs })),
    );
  }
  return out;
}

/** A page of cron `cronId`'s run log, newest first: `limit` rows with ids below `beforeId` (keyset). */
export function cronRunPage(
  dataSource: DataSource,
  cronId: number,
  beforeId: number | undefined,
  limit: number,
): Promise<HrpCronRunLog[]> {
  const where: FindOptionsWhere<HrpCronRunLog> =
    beforeId === undefined ? { cronId } : { cronId, id: LessThan(beforeId) };
  return dataSource.manager.find(HrpCronRunLog, { where, order: { id: "DESC" }, take: limit });
}

/**
 * Run statistics of every Scheduled Job Type since `since`, by type id. A
 * run's duration is its job's (start to end) when the job still exists,
 * else its log row's (enqueue to end).
 */
export async function typeRunStats(dataSource: DataSource, since: Date): Promise<Map<number, RunStats>> {
  const backend = backendFor(dataSource);
  const rows = await backend.query<Record<string, unknown>>(
    dataSource.manager,
    `SELECT l.scheduled_job_type_id AS type_id, l.status, l.date_start, l.date_end, j.date_started, j.date_done
       FROM scheduled_job_log l LEFT JOIN hrp_cron_job j ON j.id = l.hrp_cron_job_id
      WHERE l.date_start >= ? AND l.status <> 'Start'`,
    [backend.toDbDate(since)],
  );
  const acc = new Map<number, { runs: number; failures: number; total: number; timed: number }>();
  for (const r of rows) {
    const id = Number(r.type_id);
    const a = acc.get(id) ?? { runs: 0, failures: 0, total: 0, timed: 0 };
    a.runs++;
    if (r.status === "Failed") a.failures++;
    const start = backend.fromDbDate(r.date_started) ?? backend.fromDbDate(r.date_start);
    const end = backend.fromDbDate(r.date_done) ?? backend.fromDbDate(r.date_end);
    if (start && end) {
      a.total += Math.max(0, end.getTime() - start.getTime());
      a.timed++;
    }
    acc.set(id, a);
  }
  return new Map(
    [...acc].map(([id, a]) => [id, { runs: a.runs, failures: a.failures, avgMs: a.timed ? a.total / a.timed : null }]),
  );
}

/** A page of type `typeId`'s log, newest first: `limit` rows with ids below `beforeId` (keyset). */
export function typeLogPage(
  dataSource: DataSource,
  typeId: number,
  beforeId: number | undefined,
  limit: number,
): Promise<ScheduledJobLog[]> {
  const where: FindOptionsWhere<ScheduledJobLog> =
    beforeId === undefined ? { scheduledJobTypeId: typeId } : { scheduledJobTypeId: typeId, id: LessThan(beforeId) };
  return dataSource.manager.find(ScheduledJobLog, { where, order: { id: "DESC" }, take: limit });
}
