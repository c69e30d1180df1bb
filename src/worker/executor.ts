import type { EntityManager } from "typeorm";
import type { IrCron } from "../schema/entities/IrCron";
import type { Backend } from "../backend";
import type { RunRegistry } from "../backend/processLocal";
import { claimedCallback, claimedFailureCallback, type ClaimStore } from "../store/claims";
import { runInJob } from "../core/context";
import { scheduleOf } from "../scheduling/cronSchedule";
import { stillHeld } from "../store/jobState";
import { CrashRecords, splitSuspects } from "../store/crashes";
import { ClaimLostError, JobStoppedError, JobTimeoutError, coerceError, formatExcInfo } from "../core/errors";
import type { JobScope } from "../backend/jobScope";
import { parseArgs, toJsonSafe, untilAborted } from "./methodCall";
import type { ResolvedDispatcherOptions } from "../core/resolveOptions";
import { joinMethodName, splitMethodName } from "../core/methodName";
import type { ModelRegistry } from "../core/registry";
import { isOutage, withTransientRetry } from "../backend/retry";
import { commitOnce } from "../backend/commitOnce";
import { RunRecords, type Failure, type Success } from "../store/outcomes";
import { planCalls, tryCatchUp } from "../scheduling";
import { StaleClaimCheck } from "./staleClaims";
import type { JobEnv, RunResult } from "../core/types";
import { timerDelayMs } from "../core/validate";
import { checkUserKey, requireActiveUser, type JobUser } from "../core/users";

/** What a batch did: one result per cron it ran, and the claimed crons it left for the next batch. */
export interface BatchOutcome {
  readonly results: RunResult[];
  /** Still claimed by this worker, not run: the batch reached `batchMaxMs` or the worker is stopping. */
  readonly deferred: IrCron[];
}

/** How one job of a batch ended, before the batch commits. */
type JobOutcome =
  | { readonly kind: "success"; readonly success: Success }
  | { readonly kind: "failure"; readonly failure: Failure; readonly error: string }
  | { readonly kind: "recorded"; readonly result: RunResult };

/**
 * Executes claimed crons: the life of a run.
 *
 * A batch of claimed crons runs in ONE transaction, one job after another,
 * each job in its own savepoint ({@link JobScope}, opened only if the job
 * queries the database):
 *
 * 1. Per job: resolve its user (missing/inactive: fail, never another
 *    user), resolve `model.function` in the registry (unknown: fail), call
 *    it as that user once per catch-up call, then its `onSuccess`.
 * 2. A job that throws, times out or is stopped is rolled back to its
 *    savepoint, and its outcome is recorded in the same transaction
 *    (`stopped` and `interrupted` at once, failures with retry/deactivation
 *    in bulk before the commit); the other jobs of the batch are unaffected.
 * 3. Before commit, the successes are recorded in bulk: `lastcall` /
 *    `nextcall` / `numbercall` / `active`, job `done`, run-log rows, claims
 *    released — a compare-and-set on this worker's claims. So each job's
 *    own writes and its completion commit together.
 * 4. A batch stops taking jobs after `batchMaxMs`, and before a job whose
 *    method usually runs longer than what is left of it (a moving average
 *    per `model.function`): a slow job runs in a batch of its own instead of
 *    holding back the commit of quick ones. The rest stay claimed and go to
 *    the next batch.
 * 5. Transient database errors of the engine's own statements retry the
 *    whole batch (every job rolled back and run again); if they persist the
 *    claims are released and the crons stay due. The same errors thrown by a
 *    job's own work (its savepoint rolled back cleanly) are the job's: it is
 *    retried at once `jobTransientRetries` times, then fails like any job.
 *    A batch that fails for a reason no single job owns (a lost claim, an
 *    error at commit) is rolled back and its crons are run again one per
 *    transaction, where the culprit fails alone.
 * 6. A `suspect` cron (its last claim died with its worker) runs alone,
 *    after committing its start marker (see {@link CrashRecords}); a job
 *    whose claim is older than a frozen worker could keep is re-checked
 *    before it starts ({@link StaleClaimCheck}).
 * 7. `onFailure` callbacks run after the commit, each in its own transaction.
 */
export class Executor {
  private readonly records: RunRecords;
  private readonly crashes: CrashRecords;

  constructor(
    private readonly backend: Backend,
    private readonly claims: ClaimStore,
    private readonly registry: ModelRegistry,
    private readonly options: ResolvedDispatcherOptions,
    private readonly workerId: string,
    /** This DataSource's runs in progress in this process, where `stopJob` finds a run to stop at once. */
    private readonly localRuns: RunRegistry,
  ) {
    this.records = new RunRecords(backend, options, workerId);
    this.crashes = new CrashRecords(backend, options);
  }

  /** Moving average of run time per `model.function`, so that slow methods run in batches of their own. */
  private readonly methodMs = new Map<string, number>();

  private observe(cron: IrCron, ms: number): void {
    const key = methodKey(cron);
    const before = this.methodMs.get(key);
    this.methodMs.set(key, before === undefined ? ms : before * 0.7 + ms * 0.3);
    if (this.methodMs.size > 10_000) this.methodMs.delete(this.methodMs.keys().next().value!); // bounded
  }

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

  /** Runs one claimed cron in a transaction of its own (manual runs, sandbox threads). */
  async execute(cron: IrCron, workerSignal: AbortSignal): Promise<RunResult> {
    const { results } = await this.executeBatch([cron], workerSignal);
    return results[0];
  }

  /**
   * Runs claimed crons, in order, as one batch (see the class comment).
   * `workerSignal` fires when the worker stops: the running job is aborted
   * and rolled back, and the crons not started are deferred — as they are
   * once `keepGoing()` returns false.
   */
  async executeBatch(all: readonly IrCron[], workerSignal: AbortSignal, keepGoing: () => boolean = () => true): Promise<BatchOutcome> {
    // A suspect runs alone, after its start marker is committed; the crons after it wait.
    const { now: crons, later } = splitSuspects(all);
    if (crons[0]?.suspect && !(await withTransientRetry(this.backend, this.options, () => this.crashes.markStarted(crons[0], this.workerId)))) {
      return { results: [this.lostBeforeStart(crons[0])], deferred: later };
    }
    let outcome: { results: RunResult[]; deferred: IrCron[]; failed: Array<{ cron: IrCron; start: Date; error: string }> };
    try {
      // A lost COMMIT reply is settled by asking the database, never by running the batch again;
      // a stopping worker does not wait out the retry budget.
      outcome = await commitOnce(this.backend, { ...this.options, stopping: () => !keepGoing() }, { operation: "a batch", crons: crons.map((c) => c.id) },
        (manager) => this.runBatch(manager, crons, workerSignal, keepGoing),
        (error, attempt) => this.options.logger.debug("transient database error, retrying batch", { crons: crons.length, attempt, error: String(error) }),
      );
    } catch (error) {
      if (crons.length > 1 && !isOutage(this.backend, error)) {
        this.options.logger.warn("batch failed as a whole; running its crons one per transaction", { crons: crons.length, error: String(error) });
        const results: RunResult[] = [];
        for (const cron of crons) results.push(await this.execute(cron, workerSignal).catch((e: unknown) => this.unrecordable(cron, e)));
        return { results, deferred: [...later] };
      }
      return { results: await Promise.all(crons.map((cron) => this.batchFailed(cron, error))), deferred: [...later] };
    }
    for (const failure of outcome.failed) {
      await this.runOnFailure(failure.cron, failure.start, failure.error).catch((error: unknown) =>
        this.options.logger.error("onFailure callback failed", { cronId: failure.cron.id, jobId: failure.cron.hrpCronJobId, error: String(error) }),
      );
    }
    return { results: outcome.results, deferred: [...outcome.deferred, ...later] };
  }

  /** A claim this worker lost before the run started (it was presumed dead, e.g. frozen): not run, not recorded. */
  private lostBeforeStart(cron: IrCron): RunResult {
    const lost = new ClaimLostError(cron.id, this.workerId);
    this.options.logger.warn("claim lost before its run started (this worker was presumed dead); not started", { cronId: cron.id, jobId: cron.hrpCronJobId });
    return { ...resultBase(cron), outcome: "skipped", calls: 0, error: lost.message };
  }

  /** A single-cron batch that could not commit: the claim was lost, the database stayed busy, or the commit failed. */
  private async batchFailed(cron: IrCron, thrown: unknown): Promise<RunResult> {
    const base = resultBase(cron);
    if (thrown instanceof ClaimLostError) {
      this.options.logger.warn(thrown.message, { cronId: cron.id });
      return { ...base, outcome: "skipped", calls: 0, error: thrown.message };
    }
    if (isOutage(this.backend, thrown)) {
      this.options.logger.warn("database stayed busy; cron released to run later", { cronId: cron.id, error: String(thrown) });
      await this.safely(() => this.backend.transaction((m) => this.claims.release(m, cron, this.workerId)));
      return { ...base, outcome: "skipped", calls: 0, error: coerceError(thrown).message };
    }
    // The run's own transaction failed (e.g. at commit): record the failure in a new one.
    const start = this.options.now();
    try {
      const runLogId = await withTransientRetry(this.backend, this.options, () =>
        this.backend.transaction((manager) => this.records.recordFailure(manager, cron, start, formatExcInfo(thrown), thrown)),
      );
      this.options.logger.error("cron run failed", { cronId: cron.id, name: cron.name, error: coerceError(thrown).message });
      await this.runOnFailure(cron, start, coerceError(thrown).message).catch(() => undefined);
      return { ...base, outcome: "failed", calls: 0, error: coerceError(thrown).message, runLogId };
    } catch (recordError) {
      if (!(recordError instanceof ClaimLostError)) throw recordError;
      return { ...base, outcome: "skipped", calls: 0, error: recordError.message };
    }
  }

  /** Last resort when a run's outcome could not be recorded (its bookkeeping threw): {@link RunRecords.recordUnrecordable}. */
  private async unrecordable(cron: IrCron, thrown: unknown): Promise<RunResult> {
    const error = coerceError(thrown).message;
    this.options.logger.error("could not record a run; cron deactivated", { cronId: cron.id, name: cron.name, error });
    const runLogId = await withTransientRetry(this.backend, this.options, () => this.backend.transaction((manager) =>
      this.records.recordUnrecordable(manager, cron, this.options.now(), formatExcInfo(thrown)),
    )).catch((e: unknown) => void this.options.logger.error("could not release a claim; recovery will", { cronId: cron.id, error: String(e) }));
    return { ...resultBase(cron), outcome: "failed", calls: 0, error, runLogId: runLogId ?? undefined };
  }

  /** The body of a batch transaction. */
  private async runBatch(manager: EntityManager, crons: readonly IrCron[], workerSignal: AbortSignal, keepGoing: () => boolean) {
    const began = Date.now();
    const users = new Map<number, Promise<JobUser>>();
    const userOf = (uid: number) => {
      if (!users.has(uid)) users.set(uid, requireActiveUser(this.options.userResolver, manager, uid));
      return users.get(uid)!;
    };
    // Callbacks were read by the claim; look up only those it did not see (sandbox threads).
    const unknown = crons.filter((c) => c.hrpCronJobId !== null && claimedCallback(c) === undefined).map((c) => c.hrpCronJobId!);
    const looked = await this.records.callbacks(manager, unknown, "on_success");
    const onSuccessOf = (cron: IrCron) => claimedCallback(cron) ?? looked.get(cron.hrpCronJobId ?? -1) ?? null;

    const outcomes: JobOutcome[] = [];
    let deferred: IrCron[] = [];
    const fresh = new StaleClaimCheck(crons, (this.options.workerTimeoutMs - this.options.heartbeatIntervalMs) / 2,
      (ids) => stillHeld(this.backend, manager, this.workerId, ids));
    for (const [i, cron] of crons.entries()) {
      // A job known to be slow starts a batch of its own, so it does not hold back the commit of quick ones.
      const expectedEnd = Date.now() - began + (this.methodMs.get(methodKey(cron)) ?? 0);
      if (i > 0 && (workerSignal.aborted || !keepGoing() || expectedEnd >= this.options.batchMaxMs)) {
        deferred = crons.slice(i);
        break;
      }
      if (!(await fresh.held(i))) {
        outcomes.push({ kind: "recorded", result: this.lostBeforeStart(cron) });
        continue;
      }
      const name = `hrp_job_${i + 1}`;
      const scope = () => this.backend.jobScope(manager.queryRunner!, name, cron.timeoutMs);
      const jobBegan = Date.now();
      outcomes.push(await this.runJob(manager, scope, cron, userOf, onSuccessOf(cron), workerSignal));
      this.observe(cron, Date.now() - jobBegan);
    }

    const successes = outcomes.flatMap((o) => (o.kind === "success" ? [o.success] : []));
    const runLogIds = await this.records.complete(manager, successes);
    const failureLogIds = await this.records.recordFailures(manager, outcomes.flatMap((o) => (o.kind === "failure" ? [o.failure] : [])));
    const failed: Array<{ cron: IrCron; start: Date; error: string }> = [];
    const results = outcomes.map((o): RunResult => {
      if (o.kind === "recorded") return o.result;
      if (o.kind === "success") return { ...resultBase(o.success.cron), outcome: "done", calls: o.success.calls, runLogId: runLogIds.get(o.success.cron.id) };
      const { cron, start } = o.failure;
      const runLogId = failureLogIds.get(cron.id);
      if (runLogId === undefined) {
        // Presumed dead and recovered while running: the run belongs to another worker now.
        const lost = new ClaimLostError(cron.id, this.workerId);
        this.options.logger.warn(lost.message, { cronId: cron.id, error: o.error });
        return { ...resultBase(cron), outcome: "skipped", calls: 0, error: lost.message };
      }
      this.options.logger.error("cron run failed", { cronId: cron.id, name: cron.name, error: o.error });
      failed.push({ cron, start, error: o.error });
      return { ...resultBase(cron), outcome: "failed", calls: 0, error: o.error, runLogId };
    });
    for (const s of successes) this.options.logger.info("cron run done", { cronId: s.cron.id, name: s.cron.name, calls: s.calls });
    return { results, deferred, failed };
  }

  /**
   * One job of a batch, in a savepoint scope (`newScope`: a fresh one per
   * attempt). A transient error thrown by the job's own work (its savepoint
   * rolled back cleanly) is retried at once, at most `jobTransientRetries`
   * times, then recorded as the job's failure. Rethrows only what must end
   * the whole batch: errors that left the transaction unusable.
   */
  private async runJob(
    manager: EntityManager, newScope: () => JobScope, cron: IrCron, userOf: (uid: number) => Promise<JobUser>,
    onSuccess: string | null, workerSignal: AbortSignal,
  ): Promise<JobOutcome> {
    const start = this.options.now();
    const run = new AbortController();
    const relay = () => run.abort(workerSignal.reason ?? new Error("worker stopping"));
    if (workerSignal.aborted) relay();
    else workerSignal.addEventListener("abort", relay, { once: true });
    const timer = cron.timeoutMs ? setTimeout(() => run.abort(new JobTimeoutError(cron.timeoutMs!)), timerDelayMs(cron.timeoutMs)) : undefined;
    this.runs.set(cron.id, run);
    const unregister = cron.hrpCronJobId === null ? null : this.localRuns.add(cron.hrpCronJobId, () => this.requestStop(cron.id, cron.hrpCronJobId));
    try {
      // The user lookup is the engine's statement, not the job's work: a transient error there ends
      // the batch (the engine's retry), any other (missing, inactive user) fails the job.
      let user: JobUser;
      try {
        user = checkUserKey(await userOf(cron.userId), cron.userKey);
      } catch (thrown) {
        if (this.backend.isTransientError(thrown)) throw thrown;
        return await this.recordUnsuccessful(manager, cron, start, thrown, run.signal, workerSignal);
      }
      for (let attempt = 1; ; attempt++) {
        const scope = newScope();
        try {
          const success = await this.callMethod(manager, scope, cron, start, user, onSuccess, run.signal);
          await scope.release();
          return { kind: "success", success };
        } catch (thrown) {
          await scope.rollback(); // throws (ending the batch) when the transaction itself is gone
          if (attempt > this.options.jobTransientRetries || run.signal.aborted || !this.backend.isTransientError(thrown)) {
            return await this.recordUnsuccessful(manager, cron, start, thrown, run.signal, workerSignal);
          }
          this.options.logger.debug("transient error thrown by a job; retrying it at once", { cronId: cron.id, attempt, error: String(thrown) });
          await new Promise((resolve) => setTimeout(resolve, this.options.transientRetryBaseMs * attempt));
        }
      }
    } finally {
      clearTimeout(timer);
      workerSignal.removeEventListener("abort", relay);
      this.runs.delete(cron.id);
      unregister?.();
    }
  }

  /** Calls the method (once per catch-up call) and its onSuccess callback; returns the schedule after the run. */
  private async callMethod(
    manager: EntityManager, scope: JobScope, cron: IrCron, start: Date, user: JobUser, onSuccessName: string | null, signal: AbortSignal,
  ): Promise<Success> {
    const method = this.registry.resolve(cron.model, cron.function);
    const args = parseArgs(cron.args);
    // After a trigger, the schedule goes on from the call the trigger displaced.
    const anchor = cron.plannedNextcall ?? cron.nextcall;
    const { catchUp, error: scheduleError } = tryCatchUp(scheduleOf(cron, user.tz), anchor, start, cron.nextcallWall);
    const plan = planCalls({ doall: cron.doall, numbercall: cron.numbercall, missed: catchUp?.missed ?? 1, maxCalls: this.options.maxCatchUpCalls });
    // A cron whose next run cannot be computed (after 9999-12-31, corrupt row) does not run: it fails
    // like any job, and its failure deactivates it. A last call (one-shot job) needs no next run.
    if (scheduleError && plan.active) throw scheduleError;
    const call = (fn: (env: JobEnv) => unknown, n: number, of: number) =>
      untilAborted(scope.run(() => runInJob(user.id, manager, () => fn(this.envFor(cron, user, manager, start, signal, n, of)), cron.id)), signal);
    let result: unknown;
    for (let n = 1; n <= plan.calls; n++) result = await call((env) => method(env, ...args), n, plan.calls);
    if (onSuccessName) {
      const onSuccess = this.resolveCallback(onSuccessName);
      await call((env) => onSuccess(env, { jobId: cron.hrpCronJobId, result: toJsonSafe(result) }), 1, 1);
    }
    return {
      cron, start, end: this.options.now(), calls: plan.calls,
      nextcall: catchUp && catchUp.missed > 0 ? catchUp.nextcall : anchor, numbercall: plan.numbercallLeft, active: plan.active,
      nextcallWall: catchUp && catchUp.missed > 0 ? catchUp.planned ?? null : cron.nextcallWall,
    };
  }

  /** Records, in the batch's transaction, a job that did not succeed: stopped, interrupted, or failed. */
  private async recordUnsuccessful(
    manager: EntityManager, cron: IrCron, start: Date, caught: unknown, signal: AbortSignal, workerSignal: AbortSignal,
  ): Promise<JobOutcome> {
    const base = resultBase(cron);
    try {
      if (signal.aborted && signal.reason instanceof JobStoppedError) {
        const message = signal.reason.message;
        const runLogId = await this.records.recordStopped(manager, cron, start, message);
        this.options.logger.warn("job stopped by an operator", { cronId: cron.id, jobId: cron.hrpCronJobId });
        return { kind: "recorded", result: { ...base, outcome: "stopped", calls: 0, error: message, runLogId } };
      }
      const timedOut = signal.aborted && signal.reason instanceof JobTimeoutError;
      if (!timedOut && workerSignal.aborted) {
        // The worker is stopping and the method gave up: not the job's fault. Its writes
        // rolled back; hand the cron back so another worker (or this one, later) runs it.
        const note = `Worker ${this.workerId} stopped during the run (${coerceError(signal.reason ?? caught).message}); the run was rolled back and released to run again`;
        const runLogId = await this.records.recordInterrupted(manager, cron, start, note, () => this.claims.release(manager, cron, this.workerId));
        this.options.logger.warn("run interrupted by worker stop; released", { cronId: cron.id, name: cron.name });
        return { kind: "recorded", result: { ...base, outcome: "interrupted", calls: 0, error: note, runLogId } };
      }
      // Recorded with the batch's other failures, in bulk (see runBatch).
      const thrown = timedOut ? signal.reason : caught;
      return { kind: "failure", failure: { cron, start, end: this.options.now(), excInfo: formatExcInfo(thrown), thrown }, error: coerceError(thrown).message };
    } catch (recordError) {
      if (!(recordError instanceof ClaimLostError)) throw recordError;
      // Presumed dead and recovered while running: the run belongs to another worker now.
      this.options.logger.warn(recordError.message, { cronId: cron.id, error: coerceError(caught).message });
      return { kind: "recorded", result: { ...base, outcome: "skipped", calls: 0, error: recordError.message } };
    }
  }

  /**
   * Records the failure of a run whose thread was killed (sandbox hard
   * timeout): its transaction died with its connection; this worker still
   * holds the claim.
   */
  async recordKilled(cron: IrCron, start: Date, error: Error): Promise<RunResult> {
    const excInfo = formatExcInfo(error);
    const runLogId = await withTransientRetry(this.backend, this.options, () =>
      this.backend.transaction((manager) => this.records.recordFailure(manager, cron, start, excInfo, error)),
    );
    await this.runOnFailure(cron, start, error.message).catch((e: unknown) =>
      this.options.logger.error("onFailure callback failed", { cronId: cron.id, error: String(e) }),
    );
    return { ...resultBase(cron), outcome: "failed", calls: 0, error: error.message, runLogId };
  }

  private envFor(cron: IrCron, user: JobUser, manager: EntityManager, start: Date, signal: AbortSignal, call: number, calls: number): JobEnv {
    return { uid: user.id, user, manager, cronId: cron.id, jobId: cron.hrpCronJobId, lastcall: cron.lastcall, now: start, signal, workerId: this.workerId, call, calls };
  }

  /** A stored `onSuccess` / `onFailure` name (written by `enqueue` from a registered method). */
  private resolveCallback(name: string) {
    const { model, method } = splitMethodName(name) ?? { model: "", method: name };
    return this.registry.resolve(model, method);
  }

  /** The `onFailure` of a job that recovery failed (its runs killed their worker `maxCrashes` times). */
  async failedByRecovery(cron: IrCron, start: Date, error: string): Promise<void> {
    await this.runOnFailure(cron, start, error);
  }

  /** After a job has finally failed (no retry left): its `onFailure`, as its user, in a transaction of its own. */
  private async runOnFailure(cron: IrCron, start: Date, error: string): Promise<void> {
    const jobId = cron.hrpCronJobId;
    // Known from the claim to have no onFailure: no transaction (a mass failure stays cheap).
    if (jobId === null || claimedFailureCallback(cron) === null) return;
    await this.backend.transaction(async (manager) => {
      if ((await this.records.jobState(manager, jobId)) !== "failed") return; // pending again: a retry is coming
      const name = (await this.records.callbacks(manager, [jobId], "on_failure")).get(jobId);
      if (!name) return;
      const onFailure = this.resolveCallback(name);
      // Like the job itself, the callback never runs as a missing or inactive user (the error is logged).
      const user = checkUserKey(await requireActiveUser(this.options.userResolver, manager, cron.userId), cron.userKey);
      const env = this.envFor(cron, user, manager, start, new AbortController().signal, 1, 1);
      await runInJob(user.id, manager, () => onFailure(env, { jobId, error }));
    });
  }

  private async safely(work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.options.logger.error("could not release a claim; recovery will", { error: String(error) });
    }
  }
}

function methodKey(cron: IrCron): string {
  return joinMethodName(cron.model, cron.function);
}

function resultBase(cron: IrCron) {
  return { cronId: cron.id, jobId: cron.hrpCronJobId, name: cron.name, model: cron.model, function: cron.function, userId: cron.userId };
}
