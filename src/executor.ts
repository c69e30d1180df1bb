import type { EntityManager } from "typeorm";
import { IrCron } from "../entities/IrCron";
import type { Backend } from "./backend";
import type { ClaimStore } from "./claims";
import { runInJob } from "./context";
import { scheduleOf } from "./cronSchedule";
import { ClaimLostError, JobStoppedError, JobTimeoutError, RetryableJobError, ValidationError, coerceError, formatExcInfo } from "./errors";
import type { ResolvedDispatcherOptions } from "./options";
import type { ModelRegistry } from "./registry";
import { withTransientRetry } from "./retry";
import { computeCatchUp, planCalls } from "./schedule";
import type { JobEnv, RunResult } from "./types";
import { requireActiveUser, type JobUser } from "./users";

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
/** Jobs running in this process, by job id: a stop request for one needs no database round trip. */
const localRuns = new Map<number, () => boolean>();

/**
 * Stops job `jobId` if it runs in this process; returns whether it did.
 * (On SQLite a running job holds the write lock, so this is how a stop gets
 * through at once.) @internal
 */
export function stopLocalRun(jobId: number): boolean {
  return localRuns.get(jobId)?.() ?? false;
}

export class Executor {
  constructor(
    private readonly backend: Backend,
    private readonly claims: ClaimStore,
    private readonly registry: ModelRegistry,
    private readonly options: ResolvedDispatcherOptions,
    private readonly workerId: string,
  ) {}

  /** Runs in progress, by cron id, so an operator's stop request can abort one. */
  private readonly runs = new Map<number, AbortController>();

  /** Aborts the run of `cronId` if this executor is running it (`stopJob`); returns whether it was. */
  requestStop(cronId: number, jobId: number | null): boolean {
    const run = this.runs.get(cronId);
    if (!run || run.signal.aborted) return false;
    run.abort(new JobStoppedError(jobId));
    return true;
  }

  /** Crons this executor is running now. */
  runningCronIds(): number[] {
    return [...this.runs.keys()];
  }

  /**
   * Runs one claimed cron. `workerSignal` fires when the worker stops. The
   * run also aborts on its timeout (`ir_cron.timeout_ms`) and on an
   * operator's stop request; an aborted method is abandoned, its
   * transaction rolled back.
   */
  async execute(cron: IrCron, workerSignal: AbortSignal): Promise<RunResult> {
    const run = new AbortController();
    const relay = () => run.abort(workerSignal.reason ?? new Error("worker stopping"));
    if (workerSignal.aborted) relay();
    else workerSignal.addEventListener("abort", relay, { once: true });
    const timer = cron.timeoutMs ? setTimeout(() => run.abort(new JobTimeoutError(cron.timeoutMs!)), cron.timeoutMs) : undefined;
    this.runs.set(cron.id, run);
    if (cron.hrpCronJobId !== null) localRuns.set(cron.hrpCronJobId, () => this.requestStop(cron.id, cron.hrpCronJobId));
    try {
      return await this.executeWith(cron, run.signal, workerSignal);
    } finally {
      clearTimeout(timer);
      workerSignal.removeEventListener("abort", relay);
      this.runs.delete(cron.id);
      if (cron.hrpCronJobId !== null) localRuns.delete(cron.hrpCronJobId);
    }
  }

  private async executeWith(cron: IrCron, signal: AbortSignal, workerSignal: AbortSignal): Promise<RunResult> {
    const start = this.options.now();
    const base = { cronId: cron.id, jobId: cron.hrpCronJobId, name: cron.name, model: cron.model, function: cron.function, userId: cron.userId };
    try {
      const { calls, runLogId } = await withTransientRetry(this.backend, this.options, () =>
        this.backend.transaction((manager) => this.runInTransaction(manager, cron, start, signal)),
        (error, attempt) => this.options.logger.debug("transient database error, retrying run", { cronId: cron.id, attempt, error: String(error) }),
      );
      this.options.logger.info("cron run done", { cronId: cron.id, name: cron.name, calls });
      return { ...base, outcome: "done", calls, runLogId };
    } catch (caught) {
      let thrown = caught;
      if (thrown instanceof ClaimLostError) {
        this.options.logger.warn(thrown.message, { cronId: cron.id });
        return { ...base, outcome: "skipped", calls: 0, error: thrown.message };
      }
      if (this.backend.isTransientError(thrown)) {
        this.options.logger.warn("database stayed busy; cron released to run later", { cronId: cron.id, error: String(thrown) });
        await this.safely(() => this.backend.transaction((m) => this.claims.release(m, cron, this.workerId)));
        return { ...base, outcome: "skipped", calls: 0, error: coerceError(thrown).message };
      }
      if (signal.aborted && signal.reason instanceof JobStoppedError) {
        const runLogId = await withTransientRetry(this.backend, this.options, () =>
          this.backend.transaction((manager) => this.recordStopped(manager, cron, start, signal.reason as JobStoppedError)),
        );
        this.options.logger.warn("job stopped by an operator", { cronId: cron.id, jobId: cron.hrpCronJobId });
        return { ...base, outcome: "stopped", calls: 0, error: (signal.reason as Error).message, runLogId };
      }
      if (signal.aborted && signal.reason instanceof JobTimeoutError) thrown = signal.reason;
      else if (workerSignal.aborted) {
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
          this.backend.transaction((manager) => this.recordFailure(manager, cron, start, excInfo, thrown)),
        );
      } catch (recordError) {
        if (!(recordError instanceof ClaimLostError)) throw recordError;
        // Presumed dead and recovered while running: the run belongs to another worker now.
        this.options.logger.warn(recordError.message, { cronId: cron.id, error: coerceError(thrown).message });
        return { ...base, outcome: "skipped", calls: 0, error: recordError.message };
      }
      this.options.logger.error("cron run failed", { cronId: cron.id, name: cron.name, error: coerceError(thrown).message });
      await this.runOnFailure(cron, start, coerceError(thrown).message).catch((error: unknown) =>
        this.options.logger.error("onFailure callback failed", { cronId: cron.id, jobId: cron.hrpCronJobId, error: String(error) }),
      );
      return { ...base, outcome: "failed", calls: 0, error: coerceError(thrown).message, runLogId };
    }
  }

  private async runInTransaction(manager: EntityManager, cron: IrCron, start: Date, signal: AbortSignal) {
    const user = await requireActiveUser(this.options.userResolver, manager, cron.userId);
    const method = this.registry.resolve(cron.model, cron.function);
    const args = parseArgs(cron.args);

    if (cron.timeoutMs) await this.backend.limitStatementTime(manager, cron.timeoutMs);
    const catchUp = computeCatchUp(scheduleOf(cron, user.tz), cron.nextcall, start);
    const plan = planCalls({ doall: cron.doall, numbercall: cron.numbercall, missed: catchUp.missed, maxCalls: this.options.maxCatchUpCalls });
    let result: unknown;
    for (let call = 1; call <= plan.calls; call++) {
      const env = this.envFor(cron, user, manager, start, signal, call, plan.calls);
      result = await untilAborted(runInJob(user.id, manager, () => method(env, ...args)), signal);
    }
    const onSuccess = await this.callbackOf(manager, cron.hrpCronJobId, "on_success");
    if (onSuccess) {
      const env = this.envFor(cron, user, manager, start, signal, 1, 1);
      await untilAborted(runInJob(user.id, manager, () => onSuccess(env, { jobId: cron.hrpCronJobId, result: toJsonSafe(result) })), signal);
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
    const runLogId = await this.insertRunLog(manager, cron, start, end, plan.calls, "done", null);
    return { calls: plan.calls, runLogId };
  }

  private async recordFailure(manager: EntityManager, cron: IrCron, start: Date, excInfo: string, thrown: unknown): Promise<number> {
    const end = this.options.now();
    const current = await manager.findOneBy(IrCron, { id: cron.id });
    if (!current || current.runningWorker !== this.workerId) throw new ClaimLostError(cron.id, this.workerId);
    const failureCount = current.failureCount + 1;
    const firstFailure = current.firstFailureDate ?? start;
    const changes: Partial<IrCron> = { failureCount, firstFailureDate: firstFailure, runningWorker: null, runningSince: null };

    const retryAt = current.hrpCronJobId === null ? null : await this.retryTime(manager, current.hrpCronJobId, end, thrown);
    if (retryAt) {
      // Retries left: back to pending, due after the backoff, as the same user.
      changes.nextcall = retryAt;
      await this.backend.execute(manager, `UPDATE hrp_cron_job SET state = 'pending', exc_info = ? WHERE id = ?`, [excInfo, current.hrpCronJobId]);
    } else if (current.hrpCronJobId !== null) {
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

  /**
   * Records the failure of a run whose thread was killed (sandbox hard
   * timeout): its transaction died with its connection; this worker still
   * holds the claim.
   */
  async recordKilled(cron: IrCron, start: Date, error: Error): Promise<RunResult> {
    const excInfo = formatExcInfo(error);
    const runLogId = await withTransientRetry(this.backend, this.options, () =>
      this.backend.transaction((manager) => this.recordFailure(manager, cron, start, excInfo, error)),
    );
    await this.runOnFailure(cron, start, error.message).catch((e: unknown) =>
      this.options.logger.error("onFailure callback failed", { cronId: cron.id, error: String(e) }),
    );
    return { cronId: cron.id, jobId: cron.hrpCronJobId, name: cron.name, model: cron.model, function: cron.function, userId: cron.userId, outcome: "failed", calls: 0, error: error.message, runLogId };
  }

  private envFor(cron: IrCron, user: JobUser, manager: EntityManager, start: Date, signal: AbortSignal, call: number, calls: number): JobEnv {
    return { uid: user.id, user, manager, cronId: cron.id, jobId: cron.hrpCronJobId, lastcall: cron.lastcall, now: start, signal, workerId: this.workerId, call, calls };
  }

  /** The registered callback named in the job's `column`, or null. */
  private async callbackOf(manager: EntityManager, jobId: number | null, column: "on_success" | "on_failure") {
    if (jobId === null) return null;
    const [row] = await this.backend.query<Record<string, string | null>>(manager, `SELECT ${column} AS cb FROM hrp_cron_job WHERE id = ?`, [jobId]);
    const name = row?.cb;
    if (!name) return null;
    const dot = name.lastIndexOf(".");
    return this.registry.resolve(name.slice(0, dot), name.slice(dot + 1));
  }

  /** After a job has finally failed (no retry left): its `onFailure`, as its user, in a transaction of its own. */
  private async runOnFailure(cron: IrCron, start: Date, error: string): Promise<void> {
    if (cron.hrpCronJobId === null) return;
    await this.backend.transaction(async (manager) => {
      const [job] = await this.backend.query<{ state: string }>(manager, `SELECT state FROM hrp_cron_job WHERE id = ?`, [cron.hrpCronJobId]);
      if (job?.state !== "failed") return; // pending again: a retry is coming
      const onFailure = await this.callbackOf(manager, cron.hrpCronJobId, "on_failure");
      if (!onFailure) return;
      // Like the job itself, the callback never runs as a missing or inactive user (the error is logged).
      const user = await requireActiveUser(this.options.userResolver, manager, cron.userId);
      const env = this.envFor(cron, user, manager, start, new AbortController().signal, 1, 1);
      await runInJob(user.id, manager, () => onFailure(env, { jobId: cron.hrpCronJobId, error }));
    });
  }

  /** When a failed job should run again, or null when it has no retries left. */
  private async retryTime(manager: EntityManager, jobId: number, end: Date, thrown: unknown): Promise<Date | null> {
    const [job] = await this.backend.query<{ attempts: number; max_retries: number; retry_backoff_ms: string | null }>(
      manager, `SELECT attempts, max_retries, retry_backoff_ms FROM hrp_cron_job WHERE id = ?`, [jobId],
    );
    if (!job || Number(job.attempts) > Number(job.max_retries)) return null;
    const backoff: number[] = job.retry_backoff_ms ? JSON.parse(job.retry_backoff_ms) : [0];
    const delay = thrown instanceof RetryableJobError && thrown.delayMs !== undefined
      ? thrown.delayMs
      : backoff[Math.min(Number(job.attempts) - 1, backoff.length - 1)] ?? 0;
    return new Date(end.getTime() + delay);
  }

  /** An operator stopped the run: rolled back, job `stopped`, cron inactive, not retried. */
  private async recordStopped(manager: EntityManager, cron: IrCron, start: Date, reason: JobStoppedError): Promise<number> {
    const end = this.options.now();
    const n = await this.backend.execute(
      manager,
      `UPDATE ir_cron SET active = FALSE, stop_requested = FALSE, running_worker = NULL, running_since = NULL WHERE id = ? AND running_worker = ?`,
      [cron.id, this.workerId],
    );
    if (n === 0) throw new ClaimLostError(cron.id, this.workerId);
    if (cron.hrpCronJobId !== null) {
      await this.backend.execute(manager, `UPDATE hrp_cron_job SET state = 'stopped', date_done = ?, exc_info = ? WHERE id = ?`, [
        this.backend.toDbDate(end), reason.message, cron.hrpCronJobId,
      ]);
    }
    return this.insertRunLog(manager, cron, start, end, 0, "stopped", reason.message);
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

/** Resolves or rejects with `work`, or rejects with the signal's reason as soon as it aborts (leaving `work` behind). */
function untilAborted<T>(work: Promise<T> | T, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    Promise.resolve(work).then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/** A method's return value as JSON data (undefined and unserialisable values become null). */
function toJsonSafe(value: unknown): unknown {
  try {
    return value === undefined ? null : JSON.parse(JSON.stringify(value));
  } catch {
    return null;
  }
}
