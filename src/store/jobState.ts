import type { EntityManager } from "typeorm";
import type { IrCron } from "../schema/entities/IrCron";
import type { Backend } from "../backend";
import { InvalidStateError } from "../core/errors";
import type { Logger } from "../core/types";

/**
 * The checks that keep decisions final and stale claims from running: the
 * SQL of "may this cron run?" for operator actions and claims, and of "do I
 * still hold these claims?" for a worker that may have been frozen.
 *
 * A one-shot cron belongs to its job, and the job's state is the decision:
 * only a `pending` job may run. `done`, `failed`, `cancelled` and `stopped`
 * are final; `retryJob` is the way back for failed and cancelled jobs.
 */

/**
 * Throws when `cronId` is the cron of a job that is not pending (the cron of
 * a finished job must not run again). Crons without a job always pass.
 * @throws InvalidStateError
 */
export async function requireRunnable(backend: Backend, manager: EntityManager, cronId: number): Promise<void> {
  const [row] = await backend.query<{ id: unknown; state: string }>(
    manager, `SELECT j.id, j.state FROM ir_cron c JOIN hrp_cron_job j ON j.id = c.hrp_cron_job_id WHERE c.id = ?`, [cronId],
  );
  if (!row || row.state === "pending") return;
  const jobId = Number(row.id);
  throw new InvalidStateError(
    `Cron ${cronId} belongs to job ${jobId}, which is ${row.state}: it cannot run again${
      row.state === "failed" || row.state === "cancelled" ? `; retry the job to run it again (retryJob(${jobId}), hrp-cron retry ${jobId})` : ""
    }`,
    { cronId, jobId, state: row.state },
  );
}

/**
 * Claimed crons whose job is not pending (its state changed behind the
 * engine's back): released and deactivated in the claim's transaction, never
 * run.
 */
export async function releaseFinished(backend: Backend, logger: Logger, manager: EntityManager, crons: readonly IrCron[]): Promise<void> {
  await backend.execute(manager, `UPDATE ir_cron SET running_worker = NULL, running_since = NULL, active = FALSE WHERE ${backend.idIn("id")}`, [
    backend.idList(crons.map((c) => c.id)),
  ]);
  logger.warn("crons of jobs that are no longer pending were due; deactivated instead of run", { cronIds: crons.map((c) => c.id) });
}

/**
 * The ids among `cronIds` that `workerId` still holds, read in `manager`'s
 * transaction: a claim buffered while this process was frozen may have been
 * recovered, and run elsewhere, meanwhile.
 */
export async function stillHeld(backend: Backend, manager: EntityManager, workerId: string, cronIds: readonly number[]): Promise<Set<number>> {
  const rows = await backend.query<{ id: unknown }>(
    manager, `SELECT id FROM ir_cron WHERE ${backend.idIn("id")} AND running_worker = ?`, [backend.idList(cronIds), workerId],
  );
  return new Set(rows.map((r) => Number(r.id)));
}
