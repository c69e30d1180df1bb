import type { EntityManager } from "typeorm";
import { IrCron } from "../entities/IrCron";
import type { Backend } from "./backend";
import type { ClaimStore } from "./claims";
import { runInJob } from "./context";
import { scheduleOf } from "./cronSchedule";
import { ClaimLostError, InvalidUserError, ValidationError, coerceError, formatExcInfo } from "./errors";
import type { ResolvedDispatcherOptions } from "./options";
import type { ModelRegistry } from "./registry";
import { withTransientRetry } from "./retry";
import { computeCatchUp, planCalls } from "./schedule";
import type { JobEnv, RunResult } from "./types";

/**
 * Executes one claimed cron: the life of a run.
 *
 * 1. One transaction: resolve the user (missing/inactive: fail), resolve
 *    `model.function` in the registry (unknown: fail), call it as that user
 *    once per catch-up call, then — in the same transaction — advance
 *    `lastcall`/`nextcall`/`numbercall`/`active`, mark the job done, write
 *    the run log and release the claim. The bookkeeping update checks that
 *    this worker still holds the claim; if recovery gave it away, everything
 *    rolls back ({@link ClaimLostError}).
 * 2. Transient database errors retry the whole transaction with backoff; if
 *    they persist the claim is released and the cron stays due (not a failure).
 * 3. Any other error rolls the method's writes back and a second
 *    transaction records the failure: job `failed` with `exc_info`, run-log
 *    row, `failure_count`/`first_failure_date`, one-shot crons deactivated,
 *    recurring ones moved to their next occurrence and deactivated after
 *    repeated failures over a long time (Odoo 18's rule).
 */
export class Executor {
  constructor(
    private readonly backend: Backend,
    private readonly claims: ClaimStore,
    private readonly registry: ModelRegistry,
    private readonly options: ResolvedDispatcherOptions,
    private readonly workerId: string,
  ) {}

  async execute(cron: IrCron, signal: AbortSignal): Promise<RunResult> {
    const start = this.options.now();
    const base = { cronId: cron.id, jobId: cron.hrpCronJobId, name: cron.name, model: cron.model, function: cron.function, userId: cron.userId };
    try {
      const { calls, runLogId } = await withTransientRetry(this.backend, this.options, () =>
        this.backend.transaction((manager) => this.runInTransaction(manager, cron, start, signal)),
        (error, attempt) => this.options.logger.debug("transient database error, retrying run", { cronId: cron.id, attempt, error: String(error) }),
      );
      this.options.logger.info("cron run done", { cronId: cron.id, name: cron.name, calls });
      return { ...base, outcome: "done", calls, runLogId };
    } catch (thrown) {
      if (thrown instanceof ClaimLostError) {
        this.options.logger.warn(thrown.message, { cronId: cron.id });
        return { ...base, outcome: "skipped", calls: 0, error: thrown.message };
      }
      if (this.backend.isTransientError(thrown)) {
        this.options.logger.warn("database stayed busy; cron released to run later", { cronId: cron.id, error: String(thrown) });
        await this.safely(() => this.backend.transaction((m) => this.claims.release(m, cron, this.workerId)));
        return { ...base, outcome: "skipped", calls: 0, error: coerceError(thrown).message };
      }
      if (signal.aborted) {
        // The worker is stopping and the method gave up: not the job's fault. Its writes
        // rolled back; hand the cron back so another worker (or this one, later) runs it.
        const note = `Worker ${this.workerId} stopped during the run (${coerceError(signal.reason ?? thrown).message}); the run was rolled back and released to run again`;
        let runLogId: number | undefined;
        await this.safely(async () => {
          runLogId = await this.backend.transaction(async (m) =>
            (await this.claims.release(m, cron, this.workerId)) ? this.insertRunLog(m, cron, start, this.options.now(), 0, "interrupted", note) : undefined,
          );
        });
        this.options.logger.warn("run interrupted by worker stop; released", { cronId: cron.id, name: cron.name });
        return { ...base, outcome: "interrupted", calls: 0, error: note, runLogId };
      }
      const excInfo = formatExcInfo(thrown);
      let runLogId: number;
      try {
        runLogId = await withTransientRetry(this.backend, this.options, () =>
          this.backend.transaction((manager) => this.recordFailure(manager, cron, start, excInfo)),
        );
      } catch (recordError) {
        if (!(recordError instanceof ClaimLostError)) throw recordError;
        // Presumed dead and recovered while running: the run belongs to another worker now.
        this.options.logger.warn(recordError.message, { cronId: cron.id, error: coerceError(thrown).message });
        return { ...base, outcome: "skipped", calls: 0, error: recordError.message };
      }
      this.options.logger.error("cron run failed", { cronId: cron.id, name: cron.name, error: coerceError(thrown).message });
      return { ...base, outcome: "failed", calls: 0, error: coerceError(thrown).message, runLogId };
    }
  }

  private async runInTransaction(manager: EntityManager, cron: IrCron, start: Date, signal: AbortSignal) {
    const user = await this.options.userResolver.findUser(manager, cron.userId);
    if (!user) throw new InvalidUserError(cron.userId, "missing");
    if (!user.active) throw new InvalidUserError(cron.userId, "inactive");
    const method = this.registry.resolve(cron.model, cron.function);
    const args = parseArgs(cron.args);

    const catchUp = computeCatchUp(scheduleOf(cron, user.tz), cron.nextcall, start);
    const plan = planCalls({ doall: cron.doall, numbercall: cron.numbercall, missed: catchUp.missed, maxCalls: this.options.maxCatchUpCalls });
    for (let call = 1; call <= plan.calls; call++) {
      const env: JobEnv = {
        uid: user.id, user, manager, cronId: cron.id, jobId: cron.hrpCronJobId, lastcall: cron.lastcall,
        now: start, signal, workerId: this.workerId, call, calls: plan.calls,
      };
      await runInJob(user.id, manager, () => method(env, ...args));
    }

    const end = this.options.now();
    const held = await manager
      .createQueryBuilder()
      .update(IrCron)
      .set({
        lastcall: start,
        nextcall: catchUp.missed > 0 ? catchUp.nextcall : cron.nextcall,
        numbercall: plan.numbercallLeft,
        active: plan.active,
        failureCount: 0,
        firstFailureDate: null,
        runningWorker: null,
        runningSince: null,
      })
      .where("id = :id AND running_worker = :worker", { id: cron.id, worker: this.workerId })
      .execute();
    if (!held.affected) throw new ClaimLostError(cron.id, this.workerId);
    if (cron.hrpCronJobId !== null) {
      await this.backend.execute(manager, `UPDATE hrp_cron_job SET state = 'done', date_done = ?, exc_info = NULL WHERE id = ?`, [
        this.backend.toDbDate(end), cron.hrpCronJobId,
      ]);
    }
    await this.claims.touch(manager, this.workerId);
    const runLogId = await this.insertRunLog(manager, cron, start, end, plan.calls, "done", null);
    return { calls: plan.calls, runLogId };
  }

  private async recordFailure(manager: EntityManager, cron: IrCron, start: Date, excInfo: string): Promise<number> {
    const end = this.options.now();
    const current = await manager.findOneBy(IrCron, { id: cron.id });
    if (!current || current.runningWorker !== this.workerId) throw new ClaimLostError(cron.id, this.workerId);
    const failureCount = current.failureCount + 1;
    const firstFailure = current.firstFailureDate ?? start;
    const changes: Partial<IrCron> = { failureCount, firstFailureDate: firstFailure, runningWorker: null, runningSince: null };

    if (current.hrpCronJobId !== null) {
      // A one-shot job is not retried blindly: it stays visible as failed and can be retried.
      changes.active = false;
      await this.backend.execute(manager, `UPDATE hrp_cron_job SET state = 'failed', date_done = ?, exc_info = ? WHERE id = ?`, [
        this.backend.toDbDate(end), excInfo, current.hrpCronJobId,
      ]);
    } else {
      changes.nextcall = await this.nextAfterFailure(manager, current, start);
      if (failureCount >= this.options.deactivateAfterFailures && firstFailure.getTime() + this.options.deactivateAfterMs < end.getTime()) {
        changes.active = false;
        changes.failureCount = 0;
        changes.firstFailureDate = null;
        this.options.logger.error("cron deactivated after repeated failures", { cronId: cron.id, name: cron.name, failureCount });
      }
    }
    await manager.update(IrCron, { id: cron.id }, changes);
    return this.insertRunLog(manager, current, start, end, 0, "failed", excInfo);
  }

  /** The next occurrence after a failed run; a schedule that cannot be computed deactivates the cron. */
  private async nextAfterFailure(manager: EntityManager, cron: IrCron, start: Date): Promise<Date> {
    try {
      const user = await this.options.userResolver.findUser(manager, cron.userId);
      const catchUp = computeCatchUp(scheduleOf(cron, user?.tz ?? null), cron.nextcall, start);
      return catchUp.missed > 0 ? catchUp.nextcall : cron.nextcall;
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      await manager.update(IrCron, { id: cron.id }, { active: false });
      return cron.nextcall;
    }
  }

  private async insertRunLog(manager: EntityManager, cron: IrCron, start: Date, end: Date, calls: number, state: string, error: string | null) {
    const rows = await this.backend.query<{ id: number }>(
      manager,
      `INSERT INTO hrp_cron_run_log (cron_id, hrp_cron_job_id, name, model, function, user_id, worker_id, scheduled_at, date_start, date_end, duration_ms, calls, state, error)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      [cron.id, cron.hrpCronJobId, cron.name, cron.model, cron.function, cron.userId, this.workerId,
        this.backend.toDbDate(cron.nextcall), this.backend.toDbDate(start), this.backend.toDbDate(end),
        Math.max(0, end.getTime() - start.getTime()), calls, state, error],
    );
    return Number(rows[0].id);
  }

  private async safely(work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.options.logger.error("could not release a claim; recovery will", { error: String(error) });
    }
  }
}

/** Stored args are a JSON array; anything else is a data error that fails the run. */
function parseArgs(text: string): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ValidationError("args", `stored args are not valid JSON: ${text.slice(0, 80)}`);
  }
  if (!Array.isArray(parsed)) throw new ValidationError("args", `stored args must be a JSON array, got ${text.slice(0, 80)}`);
  return parsed;
}
