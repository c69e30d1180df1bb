import type { EntityManager } from "typeorm";
import type { Backend } from "../backend";
import type { Progress } from "../core/progress";

/** The SQL of a job's progress (`env.progress`, migration 0019). */

/** A job's progress as written, with when it was reported. */
export interface ProgressRow extends Progress {
  readonly at: Date;
}

/**
 * Writes job `jobId`'s progress, in the caller's own transaction (never the
 * job's): the last value of a run may arrive just after the run ended.
 */
export async function writeProgress(
  backend: Backend,
  m: EntityManager,
  jobId: number,
  row: ProgressRow,
): Promise<void> {
  await backend.execute(
    m,
    `UPDATE hrp_cron_job SET progress_done = ?, progress_total = ?, progress_message = ?, progress_at = ?
      WHERE id = ?`,
    [row.done, row.total, row.message, backend.toDbDate(row.at), jobId],
  );
}
