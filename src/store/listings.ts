import { In, IsNull, type DataSource } from "typeorm";
import { backendFor } from "../backend";
import { NotFoundError } from "../core/errors";
import { HrpCronJob } from "../schema/entities/HrpCronJob";
import type { HrpCronRun } from "../schema/entities/HrpCronRun";
import type { RunOutcome } from "../schema/entities/HrpCronRunLog";
import { IrCron } from "../schema/entities/IrCron";
import { jobFilterSql, type JobFilter } from "./jobFilter";

/** The reads of listings and lookups (`listJobs`, `listRuns`, `listCrons`, `getJob`, ...), outside any transaction. */

export type { ArgsMatch, JobFilter } from "./jobFilter";

/** Filters for {@link HrpCronJobService.listRuns}; several narrow together. */
export interface RunFilter {
  readonly cronId?: number;
  readonly jobId?: number;
  /** Runs that ended so: `done`, `failed`, `interrupted`, `stopped`. */
  readonly state?: RunOutcome;
  /** Runs of jobs (or crons) of this queue. */
  readonly queue?: string;
  readonly model?: string;
  /** Method name (`function` column). */
  readonly function?: string;
  /** Runs that ran as this user. */
  readonly userId?: number;
  /** Runs started at or after this date. */
  readonly since?: Date;
  /** Runs started before this date. */
  readonly until?: Date;
  /** @defaultValue 100 */
  readonly limit?: number;
}

/** A {@link JobFilter} checked, with its dates parsed and its limit set. */
export type JobQuery = Omit<JobFilter, "limit"> & { readonly limit: number };

/**
 * Jobs, newest first (by id, so `beforeId` pages through them by keyset:
 * each page costs an index range read however deep it is).
 */
export async function listJobs(dataSource: DataSource, filter: JobQuery): Promise<HrpCronJob[]> {
  const backend = backendFor(dataSource);
  const { where, params } = jobFilterSql(backend, filter);
  const rows = await backend.query<{ id: unknown }>(
    dataSource.manager,
    `SELECT id FROM hrp_cron_job ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ?`,
    [...params, filter.limit],
  );
  if (rows.length === 0) return [];
  return dataSource.manager.find(HrpCronJob, {
    where: { id: In(rows.map((r) => Number(r.id))) },
    order: { id: "DESC" },
  });
}

/**
 * Runs (the `hrp_cron_runs` view: run-log rows and done one-shot jobs),
 * newest first: by start, and among runs that started at the same instant
 * a job's done run (its last) before run-log rows, newest row first.
 */
export async function listRuns(
  dataSource: DataSource,
  filter: RunFilter & { readonly limit: number },
): Promise<HrpCronRun[]> {
  const backend = backendFor(dataSource);
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.cronId) {
    where.push("cron_id = ?");
    params.push(filter.cronId);
  }
  if (filter.jobId) {
    where.push("hrp_cron_job_id = ?");
    params.push(filter.jobId);
  }
  const equal: Array<[string, unknown]> = [
    ["state", filter.state],
    ["model", filter.model],
    ["function", filter.function],
    ["user_id", filter.userId],
  ];
  for (const [column, value] of equal) {
    if (value === undefined) continue;
    where.push(`${column} = ?`);
    params.push(value);
  }
  if (filter.queue !== undefined) {
    // The view has no queue: a job's run is of its job's queue, a recurring cron's of the cron's.
    where.push(
      "(hrp_cron_job_id IN (SELECT id FROM hrp_cron_job WHERE queue = ?) OR (hrp_cron_job_id IS NULL AND cron_id IN (SELECT id FROM ir_cron WHERE queue = ?)))",
    );
    params.push(filter.queue, filter.queue);
  }
  if (filter.since !== undefined) {
    where.push("date_start >= ?");
    params.push(backend.toDbDate(filter.since));
  }
  if (filter.until !== undefined) {
    where.push("date_start < ?");
    params.push(backend.toDbDate(filter.until));
  }
  const rows = await backend.query<Record<string, unknown>>(
    dataSource.manager,
    `SELECT * FROM hrp_cron_runs ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY date_start DESC, CASE WHEN run_log_id IS NULL THEN 1 ELSE 0 END DESC, run_log_id DESC, hrp_cron_job_id DESC
      LIMIT ?`,
    [...params, filter.limit],
  );
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return rows.map((r) => ({
    runLogId: num(r.run_log_id),
    cronId: Number(r.cron_id),
    hrpCronJobId: num(r.hrp_cron_job_id),
    name: String(r.name),
    model: String(r.model),
    function: String(r.function),
    userId: Number(r.user_id),
    workerId: (r.worker_id as string | null) ?? null,
    scheduledAt: backend.fromDbDate(r.scheduled_at),
    dateStart: backend.fromDbDate(r.date_start),
    dateEnd: backend.fromDbDate(r.date_end),
    durationMs: num(r.duration_ms),
    calls: Number(r.calls),
    state: r.state as RunOutcome,
    error: (r.error as string | null) ?? null,
  }));
}

/** All crons, in run order. */
export function listCrons(dataSource: DataSource): Promise<IrCron[]> {
  return dataSource.manager.find(IrCron, { order: { priority: "ASC", nextcall: "ASC", id: "ASC" } });
}

/** The recurring crons (`hrp_cron_job_id` null: not the record of a `runByCron` job), in run order. */
export function listRecurringCrons(dataSource: DataSource): Promise<IrCron[]> {
  return dataSource.manager.find(IrCron, {
    where: { hrpCronJobId: IsNull() },
    order: { priority: "ASC", nextcall: "ASC", id: "ASC" },
  });
}

/** @throws NotFoundError */
export async function getCron(dataSource: DataSource, cronId: number): Promise<IrCron> {
  const cron = await dataSource.manager.findOneBy(IrCron, { id: cronId });
  if (!cron) throw new NotFoundError("ir_cron", cronId);
  return cron;
}

/** @throws NotFoundError */
export async function getJob(dataSource: DataSource, jobId: number): Promise<HrpCronJob> {
  const job = await dataSource.manager.findOneBy(HrpCronJob, { id: jobId });
  if (!job) throw new NotFoundError("hrp_cron_job", jobId);
  return job;
}

/** The `ir_cron` row of a `runByCron` job (a queue job has none). @throws NotFoundError */
export async function getJobCron(dataSource: DataSource, jobId: number): Promise<IrCron> {
  const cron = await dataSource.manager.findOneBy(IrCron, { hrpCronJobId: jobId });
  if (!cron) throw new NotFoundError("ir_cron for hrp_cron_job", jobId);
  return cron;
}
