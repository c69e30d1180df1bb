import type { EntityManager } from "typeorm";
import { HrpCronJob } from "../schema/entities/HrpCronJob";
import type { Backend, JsonColumnType, JsonColumns } from "../backend";
import { chunkRanges, shapeJobs, type NewJob, type NewJobSchedule, type ShapedJobs } from "./newJobRows";

export type { NewJob, NewJobSchedule } from "./newJobRows";

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
  ["trace_context", "trace_context", "text", "traceContext"],
];

/*
 * The bulk statements of insertJobs (issue 14, "bulk enqueue"). Three things
 * make them cheap, measured on PostgreSQL at 1,000 jobs per statement:
 *  1. Shapes (see ShapedJobs): per job only { s, args } is sent and parsed;
 *     the other 28 columns come once per distinct shape, joined back in SQL.
 *     json_to_recordset of 2 fields per job instead of 29 twice, and about
 *     30 bytes of parameters per job instead of 1,100 (every column, twice),
 *     encoded in 0.4 µs per job instead of 15-25 µs.
 *  2. One statement per chunk on PostgreSQL: a data-modifying WITH draws
 *     the job ids (nextval, in input order), inserts the hrp_cron_job rows
 *     and the ir_cron rows of runByCron jobs from the same parsed rows, and
 *     returns the ids.
 *     Before: an INSERT ... RETURNING id, then a second INSERT re-sending
 *     every column with the ids. SQLite (no INSERT inside WITH, no round
 *     trips to save) runs the two INSERTs, both from the shaped rows.
 *  3. Chunks (chunkRanges) bound what one statement carries.
 * The rows written are exactly those of the two-statement version.
 */

/** Per job: its shape's index and its args. */
const ROW_JSON: JsonColumns = { s: "int", args: "text" };
/** Per shape: every column but args (JSON keys of JOB), with the schedule. */
const SHAPE_JSON: JsonColumns = {
  i: "int",
  ...Object.fromEntries(JOB.filter(([column]) => column !== "args").map(([, key, type]) => [key, type])),
  nextcall: "timestamp",
  doall: "bool",
};
/** SQLite's ir_cron rows: a job's id, its shape and args. */
const ID_ROW_JSON: JsonColumns = { id: "int", ...ROW_JSON };

/** The job's columns, and its due time (`nextcall`: the dispatcher claims the job row itself). */
const JOB_COLUMNS = `${JOB.map(([column]) => column).join(", ")}, nextcall`;
/** The job's columns from shaped rows `r` joined to shapes `s`. */
const JOB_VALUES = `${JOB.map(([, key]) => (key === "args" ? "r.args" : `s.${key}`)).join(", ")}, s.nextcall`;
const CRON_COLUMNS = `name, active, user_id, priority, interval_number, interval_type, cron_expression, tz, nextcall, lastcall,
                      numbercall, doall, model, function, args, hrp_cron_job_id, failure_count, first_failure_date, running_worker,
                      running_since, create_uid, create_date, write_date, stop_requested, queue, timeout_ms, concurrency_key, concurrency_limit, user_key`;
/**
 * The seed's one-shot ir_cron row of `runByCron` job `r.id` (a record, never claimed: see
 * store/runSource.ts), from shaped rows `r` joined to shapes `s`; queue jobs have none.
 */
const CRON_VALUES = `s.name, TRUE, s.user_id, s.priority, 1, 'minutes', NULL, NULL, s.nextcall, NULL,
                     1, s.doall, s.model, s.fn, r.args, r.id, 0, NULL, NULL,
                     NULL, s.create_uid, s.create_date, s.create_date, FALSE, s.queue, s.timeout_ms, s.concurrency_key, s.concurrency_limit, s.user_key`;

/**
 * Writes jobs: for each, its `hrp_cron_job` row (the row the dispatcher
 * claims and the audited record, due at `schedule.nextcall`), and for a
 * `runByCron` job (`kind = 'cron'`) also the seed's one-shot `ir_cron` row
 * (a record, never claimed), in `manager`'s transaction, with one
 * statement per chunk of up to 5,000 jobs on PostgreSQL (two on SQLite),
 * the rows passed as two JSON parameters (no entity reload). Callers
 * validate first; this only writes. Returns the jobs in the order given.
 */
export async function insertJobs(
  backend: Backend,
  manager: EntityManager,
  jobs: readonly NewJob[],
  schedules: readonly NewJobSchedule[],
): Promise<HrpCronJob[]> {
  const ids: number[] = [];
  for (const [start, end] of chunkRanges(jobs)) {
    const { shapes, rows } = shapeJobs(jobs.slice(start, end), schedules.slice(start, end));
    const shapeParam = backend.jsonRows(
      SHAPE_JSON,
      shapes.map(({ i, job, schedule }) => ({ i, ...jobRow(job), nextcall: schedule.nextcall, doall: schedule.doall })),
    );
    const chunkIds = backend.dataModifyingWith
      ? await insertChunkInOneStatement(backend, manager, rows, shapeParam)
      : await insertChunkInTwoStatements(
          backend,
          manager,
          rows,
          shapeParam,
          shapes.some((s) => s.job.kind === "cron"),
        );
    for (const id of chunkIds) ids.push(id);
  }
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

/** A job's columns, by their keys in the JSON rows. */
function jobRow(job: NewJob): Record<string, unknown> {
  return Object.fromEntries(JOB.map(([, key, , prop]) => [key, job[prop]]));
}

/** PostgreSQL: both rows of every job of the chunk in one statement; the ids in input order. */
async function insertChunkInOneStatement(
  backend: Backend,
  manager: EntityManager,
  rows: ShapedJobs["rows"],
  shapeParam: string,
): Promise<number[]> {
  // nextval in the materialized scan of the rows draws the ids in input order (the sequence is
  // looked up once, an InitPlan); the final SELECT reads them back in that order. Both INSERTs
  // run to completion whatever it reads.
  const inserted = await backend.query<{ id: unknown }>(
    manager,
    `WITH r AS MATERIALIZED (SELECT nextval((SELECT pg_get_serial_sequence('hrp_cron_job', 'id'))::regclass) AS id, v.s, v.args
                              FROM ${backend.jsonTable("v", ROW_JSON)}),
          s AS MATERIALIZED (SELECT * FROM ${backend.jsonTable("x", SHAPE_JSON)}),
          job AS (INSERT INTO hrp_cron_job (id, ${JOB_COLUMNS}) SELECT r.id, ${JOB_VALUES} FROM r JOIN s ON s.i = r.s),
          cron AS (INSERT INTO ir_cron (${CRON_COLUMNS}) SELECT ${CRON_VALUES} FROM r JOIN s ON s.i = r.s WHERE s.kind = 'cron')
     SELECT id FROM r`,
    [backend.jsonRows(ROW_JSON, rows), shapeParam],
  );
  return inserted.map((r) => Number(r.id)).sort((a, b) => a - b);
}

/** SQLite: the chunk's hrp_cron_job rows, then the ir_cron rows of its `runByCron` jobs; the ids in input order. */
async function insertChunkInTwoStatements(
  backend: Backend,
  manager: EntityManager,
  rows: ShapedJobs["rows"],
  shapeParam: string,
  withCronRows: boolean,
): Promise<number[]> {
  const inserted = await backend.query<{ id: unknown }>(
    manager,
    `INSERT INTO hrp_cron_job (${JOB_COLUMNS})
     SELECT ${JOB_VALUES} FROM ${backend.jsonTable("r", ROW_JSON)} CROSS JOIN ${backend.jsonTable("s", SHAPE_JSON)} WHERE s.i = r.s
     RETURNING id`,
    [backend.jsonRows(ROW_JSON, rows), shapeParam],
  );
  // Ids are drawn in insertion order, which is the order of the JSON rows (CROSS JOIN: SQLite keeps them the outer loop).
  const ids = inserted.map((r) => Number(r.id)).sort((a, b) => a - b);
  if (!withCronRows) return ids;
  await backend.execute(
    manager,
    `INSERT INTO ir_cron (${CRON_COLUMNS})
     SELECT ${CRON_VALUES} FROM ${backend.jsonTable("r", ID_ROW_JSON)} JOIN ${backend.jsonTable("s", SHAPE_JSON)} ON s.i = r.s
      WHERE s.kind = 'cron'`,
    [
      backend.jsonRows(
        ID_ROW_JSON,
        rows.map((row, i) => ({ ...row, id: ids[i] })),
      ),
      shapeParam,
    ],
  );
  return ids;
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
