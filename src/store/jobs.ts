import type { EntityManager } from "typeorm";
import { HrpCronJob, type HrpCronJobLifecycle } from "../schema/entities/HrpCronJob";
import type { Backend, JsonColumnType, JsonColumns } from "../backend";

/** The columns of a new `hrp_cron_job` row (everything but its id and the lifecycle the engine writes). */
export type NewJob = Omit<HrpCronJob, "id" | HrpCronJobLifecycle>;

/** When the job is due, and (for its `ir_cron` row, `runByCron` only) whether a catch-up replays missed calls. */
export interface NewJobSchedule {
  readonly nextcall: Date;
  readonly doall: boolean;
}

/** `hrp_cron_job` column, key in the JSON rows, type, entity property. */
const JOB: ReadonlyArray<readonly [string, string, JsonColumnType, keyof NewJob]> = [
  ["name", "name", "text", "name"],
  ["model", "model", "text", "model"],
  ["function", "fn", "text", "function"],
  ["args", "args", "text", "args"],
  ["priority", "priority", "int", "priority"],
  ["user_id", "user_id", "int", "userId"],
  ["date_created", "date_created", "timestamp", "dateCreated"],
  ["state", "state", "text", "state"],
  ["date_started", "date_started", "timestamp", "dateStarted"],
  ["date_done", "date_done", "timestamp", "dateDone"],
  ["exc_info", "exc_info", "text", "excInfo"],
  ["create_uid", "create_uid", "int", "createUid"],
  ["create_date", "create_date", "timestamp", "createDate"],
  ["kind", "kind", "text", "kind"],
  ["job_key", "job_key", "text", "jobKey"],
  ["max_retries", "max_retries", "int", "maxRetries"],
  ["attempts", "attempts", "int", "attempts"],
  ["retry_backoff_ms", "retry_backoff_ms", "text", "retryBackoffMs"],
  ["worker_id", "worker_id", "text", "workerId"],
  ["on_success", "on_success", "text", "onSuccess"],
  ["on_failure", "on_failure", "text", "onFailure"],
  ["queue", "queue", "text", "queue"],
  ["timeout_ms", "timeout_ms", "int", "timeoutMs"],
  ["concurrency_key", "concurrency_key", "text", "concurrencyKey"],
  ["concurrency_limit", "concurrency_limit", "int", "concurrencyLimit"],
  ["user_key", "user_key", "text", "userKey"],
];
/** The job's columns plus its due time (`nextcall`, from its schedule). */
const JOB_JSON: JsonColumns = { ...Object.fromEntries(JOB.map(([, key, type]) => [key, type])), nextcall: "timestamp" };

/** What the one-shot `ir_cron` row needs beyond its job's columns. */
const CRON_JSON: JsonColumns = { ...JOB_JSON, job_id: "int", doall: "bool" };

/**
 * Writes jobs: for each, its `hrp_cron_job` row (the row the dispatcher
 * claims and the audited record, due at `schedule.nextcall`), and for a
 * `runByCron` job (`kind = 'cron'`) also the seed's one-shot `ir_cron` row
 * (a record, never claimed), in `manager`'s transaction, with one statement
 * per table however many jobs there are (rows passed as one JSON parameter;
 * no entity reload). Callers validate first; this only writes. Returns the
 * jobs in the order given.
 */
export async function insertJobs(
  backend: Backend,
  manager: EntityManager,
  jobs: readonly NewJob[],
  schedules: readonly NewJobSchedule[],
): Promise<HrpCronJob[]> {
  if (jobs.length === 0) return [];
  const rows = jobs.map((job, i) => ({
    ...Object.fromEntries(JOB.map(([, key, , prop]) => [key, job[prop]])),
    nextcall: schedules[i].nextcall,
  }));
  const inserted = await backend.query<{ id: unknown }>(
    manager,
    `INSERT INTO hrp_cron_job (${JOB.map(([column]) => column).join(", ")}, nextcall)
     SELECT ${JOB.map(([, key]) => `v.${key}`).join(", ")}, v.nextcall FROM ${backend.jsonTable("v", JOB_JSON)}
     RETURNING id`,
    [backend.jsonRows(JOB_JSON, rows)],
  );
  // Ids are drawn in insertion order, which is the order of the JSON rows.
  const ids = inserted.map((r) => Number(r.id)).sort((a, b) => a - b);
  const crons = rows.flatMap((row, i) =>
    jobs[i].kind === "cron" ? [{ ...row, job_id: ids[i], doall: schedules[i].doall }] : [],
  );
  if (crons.length > 0)
    await backend.execute(
      manager,
      `INSERT INTO ir_cron (name, active, user_id, priority, interval_number, interval_type, cron_expression, tz, nextcall, lastcall,
                          numbercall, doall, model, function, args, hrp_cron_job_id, failure_count, first_failure_date, running_worker,
                          running_since, create_uid, create_date, write_date, stop_requested, queue, timeout_ms, concurrency_key, concurrency_limit, user_key)
     SELECT v.name, TRUE, v.user_id, v.priority, 1, 'minutes', NULL, NULL, v.nextcall, NULL,
            1, v.doall, v.model, v.fn, v.args, v.job_id, 0, NULL, NULL,
            NULL, v.create_uid, v.create_date, v.create_date, FALSE, v.queue, v.timeout_ms, v.concurrency_key, v.concurrency_limit, v.user_key
       FROM ${backend.jsonTable("v", CRON_JSON)}`,
      [backend.jsonRows(CRON_JSON, crons)],
    );
  return jobs.map((job, i) =>
    Object.assign(new HrpCronJob(), job, {
      id: ids[i],
      nextcall: schedules[i].nextcall,
      runningWorker: null,
      runningSince: null,
      stopRequested: false,
      failureCount: 0,
      crashCount: 0,
      suspect: false,
      suspectStarted: false,
      unservedSince: null,
    }),
  );
}

/** {@link insertJobs} for one job. */
export async function insertJob(
  backend: Backend,
  manager: EntityManager,
  job: NewJob,
  schedule: NewJobSchedule,
): Promise<HrpCronJob> {
  const [saved] = await insertJobs(backend, manager, [job], [schedule]);
  return saved;
}

/** Registered `model.method` names of the jobs' `column` callbacks, by job id (jobs without one are absent). */
export async function jobCallbacks(
  backend: Backend,
  manager: EntityManager,
  jobIds: readonly number[],
  column: "on_success" | "on_failure",
): Promise<Map<number, string>> {
  if (jobIds.length === 0) return new Map();
  const rows = await backend.query<{ id: unknown; cb: string | null }>(
    manager,
    `SELECT id, ${column} AS cb FROM hrp_cron_job WHERE ${backend.idIn("id")} AND ${column} IS NOT NULL`,
    [backend.idList(jobIds)],
  );
  return new Map(rows.filter((r) => r.cb).map((r) => [Number(r.id), r.cb!]));
}

/** Whether a job with caller key `jobKey` (Frappe's `job_id`) is pending or running. */
export async function liveJobWithKey(backend: Backend, manager: EntityManager, jobKey: string): Promise<boolean> {
  const live = await backend.query(
    manager,
    `SELECT id FROM hrp_cron_job WHERE job_key = ? AND state IN ('pending', 'running')`,
    [jobKey],
  );
  return live.length > 0;
}
