import type { EntityManager } from "typeorm";
import type { Backend } from "../backend";
import { CurrentlyRunningError, InvalidStateError, NotFoundError } from "../core/errors";
import { HrpCronJob, type HrpCronJobState } from "../schema/entities/HrpCronJob";
import { IrCron } from "../schema/entities/IrCron";
import { updateIdleCron } from "./crons";
import { RUNNABLE } from "./predicates";

/**
 * The SQL of operators' decisions on jobs (`retryJob`, `cancelJob`,
 * `stopJob`) and of retention and queue statistics. A job and its one-shot
 * cron change together (see `jobState.ts` for the invariant).
 */

/**
 * Job `jobId` and its cron, for a change allowed only from the `allowed`
 * states and only while no worker runs it (`verb` names the change).
 * @throws NotFoundError, CurrentlyRunningError, InvalidStateError
 */
export async function jobForChange(
  m: EntityManager,
  jobId: number,
  allowed: readonly HrpCronJobState[],
  verb: string,
): Promise<{ job: HrpCronJob; cron: IrCron }> {
  const job = await m.findOneBy(HrpCronJob, { id: jobId });
  if (!job) throw new NotFoundError("hrp_cron_job", jobId);
  const cron = await m.findOneBy(IrCron, { hrpCronJobId: jobId });
  if (cron?.runningWorker) throw new CurrentlyRunningError(cron.id, cron.runningWorker);
  if (!allowed.includes(job.state) || !cron) {
    throw new InvalidStateError(`Job ${jobId} is ${job.state}; only ${allowed.join(" or ")} jobs can be ${verb}`, {
      jobId,
      state: job.state,
    });
  }
  return { job, cron };
}

/** A failed or cancelled job back in the queue, due `when`, with its counters reset; returns the job as it is now. */
export async function requeueJob(
  backend: Backend,
  m: EntityManager,
  jobId: number,
  cronId: number,
  when: Date,
  now: () => Date,
): Promise<HrpCronJob> {
  await updateIdleCron(
    backend,
    m,
    cronId,
    {
      active: true,
      numbercall: 1,
      nextcall: when,
      failureCount: 0,
      firstFailureDate: null,
      crashCount: 0,
      suspect: false,
      suspectStarted: false,
      plannedNextcall: null,
      retrigger: false,
      unservedSince: null,
      nextcallWall: null,
    },
    now(),
  );
  await m.update(
    HrpCronJob,
    { id: jobId },
    { state: "pending", dateStarted: null, dateDone: null, dateCreated: when, attempts: 0 },
  );
  return (await m.findOneBy(HrpCronJob, { id: jobId }))!;
}

/** A pending or failed job cancelled: its cron inactive; returns the job as it is now. */
export async function cancelJob(
  backend: Backend,
  m: EntityManager,
  jobId: number,
  cronId: number,
  now: () => Date,
): Promise<HrpCronJob> {
  await updateIdleCron(backend, m, cronId, { active: false }, now());
  await m.update(HrpCronJob, { id: jobId }, { state: "cancelled", dateDone: now() });
  return (await m.findOneBy(HrpCronJob, { id: jobId }))!;
}

/**
 * Asks the worker running job `jobId` to stop it (it reads the request at
 * its next heartbeat).
 * @throws NotFoundError, InvalidStateError when the job is not running
 */
export async function requestJobStop(backend: Backend, m: EntityManager, jobId: number): Promise<void> {
  const n = await backend.execute(
    m,
    `UPDATE ir_cron SET stop_requested = TRUE WHERE hrp_cron_job_id = ? AND running_worker IS NOT NULL`,
    [jobId],
  );
  if (n > 0) return;
  const job = await m.findOneBy(HrpCronJob, { id: jobId });
  if (!job) throw new NotFoundError("hrp_cron_job", jobId);
  throw new InvalidStateError(
    `Job ${jobId} is ${job.state}, not running; cancel a pending job instead of stopping it`,
    { jobId, state: job.state },
  );
}

/** Running, waiting (due) and scheduled (not due yet) crons per queue and concurrency key, at `now`. */
export async function queueStats(
  backend: Backend,
  m: EntityManager,
  now: Date,
): Promise<
  Array<{ queue: string; concurrencyKey: string | null; running: number; waiting: number; scheduled: number }>
> {
  const rows = await backend.query<{
    queue: string;
    k: string | null;
    running: unknown;
    waiting: unknown;
    scheduled: unknown;
  }>(
    m,
    `SELECT queue, concurrency_key AS k,
            SUM(CASE WHEN running_worker IS NOT NULL THEN 1 ELSE 0 END) AS running,
            SUM(CASE WHEN running_worker IS NULL AND nextcall <= ? THEN 1 ELSE 0 END) AS waiting,
            SUM(CASE WHEN running_worker IS NULL AND nextcall > ? THEN 1 ELSE 0 END) AS scheduled
       FROM ir_cron WHERE ${RUNNABLE}
      GROUP BY queue, concurrency_key ORDER BY queue, concurrency_key`,
    [backend.toDbDate(now), backend.toDbDate(now)],
  );
  return rows.map((r) => ({
    queue: r.queue,
    concurrencyKey: r.k,
    running: Number(r.running),
    waiting: Number(r.waiting),
    scheduled: Number(r.scheduled),
  }));
}

/**
 * Deletes finished (`done`, `cancelled`, `stopped`) jobs done before
 * `finishedBefore` and failed ones done before `failedBefore`, with their
 * idle crons and run-log rows; returns how many jobs were deleted.
 */
export async function purgeJobs(
  backend: Backend,
  m: EntityManager,
  finishedBefore: Date,
  failedBefore: Date,
): Promise<number> {
  const where = `(state IN ('done', 'cancelled', 'stopped') AND date_done < ?) OR (state = 'failed' AND date_done < ?)`;
  const params = [backend.toDbDate(finishedBefore), backend.toDbDate(failedBefore)];
  await backend.execute(
    m,
    `DELETE FROM hrp_cron_run_log WHERE hrp_cron_job_id IN (SELECT id FROM hrp_cron_job WHERE ${where})`,
    params,
  );
  await backend.execute(
    m,
    `DELETE FROM ir_cron WHERE running_worker IS NULL AND hrp_cron_job_id IN (SELECT id FROM hrp_cron_job WHERE ${where})`,
    params,
  );
  return backend.execute(
    m,
    `DELETE FROM hrp_cron_job WHERE (${where}) AND id NOT IN (SELECT hrp_cron_job_id FROM ir_cron WHERE hrp_cron_job_id IS NOT NULL)`,
    params,
  );
}
