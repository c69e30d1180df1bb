import type { EntityManager } from "typeorm";
import type { Backend, JsonColumns } from "../backend";
import type { IrCron } from "../schema/entities/IrCron";
import { keyOf, type RunKey } from "./runSource";

/** One `hrp_cron_run_log` row. */
export interface RunLogRow {
  readonly cron: IrCron;
  readonly start: Date;
  readonly end: Date;
  readonly calls: number;
  readonly state: string;
  readonly error: string | null;
  /** Default: end - start. */
  readonly durationMs?: number | null;
}

const RUN_LOG: JsonColumns = {
  cron_id: "int",
  job_id: "int",
  name: "text",
  model: "text",
  fn: "text",
  user_id: "int",
  scheduled_at: "timestamp",
  date_start: "timestamp",
  date_end: "timestamp",
  duration_ms: "int",
  calls: "int",
  state: "text",
  error: "text",
};

/**
 * Inserts run-log rows of `workerId`'s runs in one statement; returns their
 * ids by run key. `durationMs` defaults to end - start (null: unknown, e.g.
 * the run of a worker that died). A queue job's run has `cron_id` 0 (it has
 * no `ir_cron` row).
 */
export async function insertRunLogs(
  backend: Backend,
  manager: EntityManager,
  workerId: string,
  rows: readonly RunLogRow[],
): Promise<Map<RunKey, number>> {
  if (rows.length === 0) return new Map();
  const inserted = await backend.query<{ id: unknown; cron_id: unknown; hrp_cron_job_id: unknown }>(
    manager,
    `INSERT INTO hrp_cron_run_log (cron_id, hrp_cron_job_id, name, model, function, user_id, worker_id, scheduled_at, date_start, date_end, duration_ms, calls, state, error)
     SELECT v.cron_id, v.job_id, v.name, v.model, v.fn, v.user_id, ?, v.scheduled_at, v.date_start, v.date_end, v.duration_ms, v.calls, v.state, v.error
       FROM ${backend.jsonTable("v", RUN_LOG)}
     RETURNING id, cron_id, hrp_cron_job_id`,
    [
      workerId,
      backend.jsonRows(
        RUN_LOG,
        rows.map((r) => ({
          cron_id: r.cron.id,
          job_id: r.cron.hrpCronJobId,
          name: r.cron.name,
          model: r.cron.model,
          fn: r.cron.function,
          user_id: r.cron.userId,
          scheduled_at: r.cron.nextcall,
          date_start: r.start,
          date_end: r.end,
          duration_ms: r.durationMs === undefined ? Math.max(0, r.end.getTime() - r.start.getTime()) : r.durationMs,
          calls: r.calls,
          state: r.state,
          error: r.error,
        })),
      ),
    ],
  );
  return new Map(
    inserted.map((r) => [
      r.hrp_cron_job_id === null ? keyOf("cron", Number(r.cron_id)) : keyOf("job", Number(r.hrp_cron_job_id)),
      Number(r.id),
    ]),
  );
}
