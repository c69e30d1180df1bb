import type { EntityManager } from "typeorm";
import { HrpCronJob } from "../entities/HrpCronJob";
import type { Backend } from "./backend";

/** The columns of a new `hrp_cron_job` row (everything but its id). */
export type NewJob = Omit<HrpCronJob, "id">;

const JOB_COLUMNS: ReadonlyArray<readonly [string, keyof NewJob]> = [
  ["name", "name"], ["model", "model"], ["function", "function"], ["args", "args"], ["priority", "priority"],
  ["user_id", "userId"], ["date_created", "dateCreated"], ["state", "state"], ["date_started", "dateStarted"],
  ["date_done", "dateDone"], ["exc_info", "excInfo"], ["create_uid", "createUid"], ["create_date", "createDate"],
  ["kind", "kind"], ["job_key", "jobKey"], ["max_retries", "maxRetries"], ["attempts", "attempts"],
  ["retry_backoff_ms", "retryBackoffMs"], ["worker_id", "workerId"], ["on_success", "onSuccess"], ["on_failure", "onFailure"],
  ["queue", "queue"], ["timeout_ms", "timeoutMs"], ["concurrency_key", "concurrencyKey"], ["concurrency_limit", "concurrencyLimit"],
];

const CRON_COLUMNS = [
  "name", "active", "user_id", "priority", "interval_number", "interval_type", "cron_expression", "tz", "nextcall", "lastcall",
  "numbercall", "doall", "model", "function", "args", "hrp_cron_job_id", "failure_count", "first_failure_date", "running_worker",
  "running_since", "create_uid", "create_date", "write_date", "stop_requested", "queue", "timeout_ms", "concurrency_key", "concurrency_limit",
];

const INSERT_JOB = `INSERT INTO hrp_cron_job (${JOB_COLUMNS.map(([c]) => c).join(", ")}) VALUES (${JOB_COLUMNS.map(() => "?").join(", ")}) RETURNING id`;
const INSERT_CRON = `INSERT INTO ir_cron (${CRON_COLUMNS.join(", ")}) VALUES (${CRON_COLUMNS.map(() => "?").join(", ")})`;

/**
 * Writes one job: its audited `hrp_cron_job` row and the one-shot `ir_cron`
 * row the dispatcher claims (due at `nextcall`, catch-up `doall`), in
 * `manager`'s transaction, with two plain INSERTs (no entity reload).
 * Callers validate first; this only writes.
 */
export async function insertJob(backend: Backend, manager: EntityManager, job: NewJob, cron: { nextcall: Date; doall: boolean }): Promise<HrpCronJob> {
  const [row] = await backend.query<{ id: unknown }>(manager, INSERT_JOB, JOB_COLUMNS.map(([, key]) => job[key]));
  const id = Number(row.id);
  await backend.execute(manager, INSERT_CRON, [
    job.name, true, job.userId, job.priority, 1, "minutes", null, null, cron.nextcall, null,
    1, cron.doall, job.model, job.function, job.args, id, 0, null, null,
    null, job.createUid, job.createDate, job.createDate, false, job.queue, job.timeoutMs, job.concurrencyKey, job.concurrencyLimit,
  ]);
  return Object.assign(new HrpCronJob(), job, { id });
}
