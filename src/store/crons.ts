import type { EntityManager, QueryDeepPartialEntity } from "typeorm";
import type { Backend } from "../backend";
import { CurrentlyRunningError, InvalidStateError, NotFoundError } from "../core/errors";
import { IrCron } from "../schema/entities/IrCron";

/**
 * The SQL of `ir_cron` edits made by applications and operators: create,
 * edit or delete a cron only while no worker holds it (never waiting for a
 * running one), and a run's request to run again.
 */

/** A new cron (everything but its id), as `createCron` builds it. */
export type NewCron = Omit<QueryDeepPartialEntity<IrCron>, "id">;

/** Saves a new cron in `m`'s transaction; returns it with its id. */
export function insertCron(m: EntityManager, values: NewCron): Promise<IrCron> {
  return m.save(m.create(IrCron, values as Partial<IrCron>));
}

/** The cron `cronId`, or null. */
export function findCron(m: EntityManager, cronId: number): Promise<IrCron | null> {
  return m.findOneBy(IrCron, { id: cronId });
}

/**
 * Updates a cron only if no worker holds it (`writeDate` set to `now`);
 * announces work when the edit can make it due.
 * @throws NotFoundError, CurrentlyRunningError
 */
export async function updateIdleCron(
  backend: Backend,
  m: EntityManager,
  cronId: number,
  values: QueryDeepPartialEntity<IrCron>,
  now: Date,
): Promise<void> {
  const result = await m
    .createQueryBuilder()
    .update(IrCron)
    .set({ ...values, writeDate: now })
    .where("id = :id AND running_worker IS NULL", { id: cronId })
    .execute();
  if (!result.affected) await explainIdleMiss(m, cronId);
  if (values.active === true || values.nextcall) await backend.announceWork(m);
}

/** Deletes a cron no worker holds (not its run history). @throws NotFoundError, CurrentlyRunningError */
export async function deleteIdleCron(backend: Backend, m: EntityManager, cronId: number): Promise<void> {
  const n = await backend.execute(m, `DELETE FROM ir_cron WHERE id = ? AND running_worker IS NULL`, [cronId]);
  if (n === 0) await explainIdleMiss(m, cronId);
}

/**
 * A cron's own run asks to run again once it is recorded (in the run's
 * transaction): `retrigger`, which the success bookkeeping reads.
 * @throws InvalidStateError for the cron of a job (it runs once)
 */
export async function markRetrigger(backend: Backend, m: EntityManager, cronId: number): Promise<IrCron> {
  const n = await backend.execute(m, `UPDATE ir_cron SET retrigger = TRUE WHERE id = ? AND hrp_cron_job_id IS NULL`, [
    cronId,
  ]);
  if (n === 0) {
    throw new InvalidStateError(
      `Cron ${cronId} belongs to a job, which runs once: enqueue a follow-up job instead of re-triggering it`,
      { cronId },
    );
  }
  return (await findCron(m, cronId))!;
}

/** The job a cron belongs to (its `ir_cron` row, written by `runByCron`) and the job's state, or null for a cron of its own. */
export async function jobOfCron(
  backend: Backend,
  m: EntityManager,
  cronId: number,
): Promise<{ jobId: number; state: string } | null> {
  const [row] = await backend.query<{ id: unknown; state: string }>(
    m,
    `SELECT j.id, j.state FROM ir_cron c JOIN hrp_cron_job j ON j.id = c.hrp_cron_job_id WHERE c.id = ?`,
    [cronId],
  );
  return row ? { jobId: Number(row.id), state: row.state } : null;
}

/** Why an edit of an idle cron touched nothing. @throws NotFoundError or CurrentlyRunningError */
async function explainIdleMiss(m: EntityManager, cronId: number): Promise<never> {
  const cron = await findCron(m, cronId);
  if (!cron) throw new NotFoundError("ir_cron", cronId);
  throw new CurrentlyRunningError(cronId, cron.runningWorker);
}
