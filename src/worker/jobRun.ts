import type { EntityManager } from "typeorm";
import type { Backend } from "../backend";
import type { JobScope } from "../backend/jobScope";
import type { RunRegistry } from "../backend/processLocal";
import { runInJob } from "../core/context";
import { ClaimLostError, coerceError, formatExcInfo, JobStoppedError, JobTimeoutError } from "../core/errors";
import { splitMethodName } from "../core/methodName";
import type { ModelRegistry } from "../core/registry";
import type { RunSpan } from "../core/tracing";
import type { ResolvedDispatcherOptions } from "../core/resolveOptions";
import type { JobEnv } from "../core/types";
import { checkUserKey, requireActiveUser, type JobUser } from "../core/users";
import { timerDelayMs } from "../core/validate";
import type { IrCron } from "../schema/entities/IrCron";
import { planCalls, tryCatchUp } from "../scheduling";
import { scheduleOf } from "../scheduling/cronSchedule";
import type { ClaimedRun, ClaimStore } from "../store/claims";
import { jobStateOf } from "../store/jobState";
import { runKey, type RunKey } from "../store/runSource";
import type { RunRecords, Success } from "../store/outcomes";
import { parseArgs, resultText, toJsonSafe, untilAborted } from "./methodCall";
import { startEvent, type DispatcherEvents } from "./events";
import { ProgressWriter } from "./progress";
import { runSpanEnd, runSpanStart } from "./runSpan";
import { resultBase, skipped, type JobOutcome } from "./runResult";

export type { JobOutcome } from "./runResult";

/**
 * One job of a batch (see `Executor`): its user, its method called once per
 * catch-up call as that user inside its savepoint scope, its `onSuccess`;
 * its timeout, an operator's stop and the worker's stop abort it. Also its
 * `onFailure` once it has finally failed. Keeps the runs in progress, by
 * run key (a stop request aborts one), and lists them with the
 * DataSource's {@link RunRegistry} so that `stopJob` in this process stops
 * them at once.
 */
export class JobRunner {
  /** Runs in progress, by run key, so an operator's stop request can abort one. */
  private readonly runs = new Map<RunKey, AbortController>();

  constructor(
    private readonly backend: Backend,
    private readonly claims: ClaimStore,
    private readonly records: RunRecords,
    private readonly registry: ModelRegistry,
    private readonly options: ResolvedDispatcherOptions,
    private readonly workerId: string,
    /** This DataSource's runs in progress in this process, where `stopJob` finds a run to stop at once. */
    private readonly localRuns: RunRegistry,
    /** Told when a method starts (`job:start`). */
    private readonly events: DispatcherEvents,
  ) {
    this.progress = new ProgressWriter(backend, options, events, workerId);
  }

  /** Writes the runs' `env.progress` outside their transactions; their batch waits for it (`settled`). */
  readonly progress: ProgressWriter;

  /** Aborts run `key` if it is in progress here (`stopJob`); returns whether it was. */
  requestStop(key: RunKey, jobId: number | null): boolean {
    const run = this.runs.get(key);
    if (!run || run.signal.aborted) return false;
    run.abort(new JobStoppedError(jobId));
    return true;
  }

  /** Runs in progress now. */
  runningKeys(): RunKey[] {
    return [...this.runs.keys()];
  }

  /**
   * Runs one job of a batch, in a savepoint scope (`newScope`: a fresh one
   * per attempt). A transient error thrown by the job's own work (its
   * savepoint rolled back cleanly) is retried at once, at most
   * `jobTransientRetries` times, then recorded as the job's failure.
   * Rethrows only what must end the whole batch: errors that left the
   * transaction unusable. With the `tracing` option the run has a span
   * (the child of its job's enqueuer), active while its methods run.
   */
  async run(
    manager: EntityManager,
    newScope: () => JobScope,
    claimed: ClaimedRun,
    userOf: (uid: number) => Promise<JobUser>,
    workerSignal: AbortSignal,
  ): Promise<JobOutcome> {
    const { tracing } = this.options;
    if (tracing === null) return this.runJob(manager, newScope, claimed, userOf, workerSignal, null);
    const span = tracing.startRun(runSpanStart(claimed, this.workerId));
    try {
      const outcome = await this.runJob(manager, newScope, claimed, userOf, workerSignal, span);
      span.end(runSpanEnd(outcome));
      return outcome;
    } catch (error) {
      span.end({ outcome: "failed", error }); // the batch's transaction is gone: the batch is run again
      throw error;
    }
  }

  private async runJob(
    manager: EntityManager,
    newScope: () => JobScope,
    claimed: ClaimedRun,
    userOf: (uid: number) => Promise<JobUser>,
    workerSignal: AbortSignal,
    span: RunSpan | null,
  ): Promise<JobOutcome> {
    const { cron } = claimed;
    const start = this.options.now();
    const run = new AbortController();
    const relay = () => run.abort(workerSignal.reason ?? new Error("worker stopping"));
    if (workerSignal.aborted) relay();
    else workerSignal.addEventListener("abort", relay, { once: true });
    const timer = cron.timeoutMs
      ? setTimeout(() => run.abort(new JobTimeoutError(cron.timeoutMs!)), timerDelayMs(cron.timeoutMs))
      : undefined;
    const key = runKey(cron);
    this.runs.set(key, run);
    const unregister =
      cron.hrpCronJobId === null
        ? null
        : this.localRuns.add(cron.hrpCronJobId, () => this.requestStop(key, cron.hrpCronJobId));
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
          this.events.emit("job:start", startEvent(claimed, this.workerId, start));
          const call = () => this.callMethod(manager, scope, cron, start, user, claimed.onSuccess, run.signal);
          const success = await (span === null ? call() : span.within(call));
          await scope.release();
          return { kind: "success", success };
        } catch (thrown) {
          await scope.rollback(); // throws (ending the batch) when the transaction itself is gone
          if (
            attempt > this.options.jobTransientRetries ||
            run.signal.aborted ||
            !this.backend.isTransientError(thrown)
          ) {
            return await this.recordUnsuccessful(manager, cron, start, thrown, run.signal, workerSignal);
          }
          this.options.logger.debug("transient error thrown by a job; retrying it at once", {
            cronId: cron.id,
            attempt,
            error: String(thrown),
          });
          await new Promise((resolve) => setTimeout(resolve, this.options.transientRetryBaseMs * attempt));
        }
      }
    } finally {
      clearTimeout(timer);
      workerSignal.removeEventListener("abort", relay);
      this.runs.delete(key);
      unregister?.();
      // The run's last progress, in a transaction of its own: its batch waits for it once committed.
      this.progress.finish(cron.hrpCronJobId);
    }
  }

  /**
   * After a job has finally failed (no retry left): its `onFailure`, as its
   * user, in a transaction of its own. Nothing to do (and no transaction)
   * when the job has none, as the claim read.
   */
  async runOnFailure(claimed: Pick<ClaimedRun, "cron" | "onFailure">, start: Date, error: string): Promise<void> {
    const { cron, onFailure: name } = claimed;
    const jobId = cron.hrpCronJobId;
    if (jobId === null || name === null) return;
    await this.backend.transaction(async (manager) => {
      if ((await jobStateOf(this.backend, manager, jobId)) !== "failed") return; // pending again: a retry is coming
      const onFailure = this.resolveCallback(name);
      // Like the job itself, the callback never runs as a missing or inactive user (the error is logged).
      const user = checkUserKey(await requireActiveUser(this.options.userResolver, manager, cron.userId), cron.userKey);
      const env = this.envFor(cron, user, manager, start, new AbortController().signal, 1, 1);
      await runInJob(user.id, manager, () => onFailure(env, { jobId, error }));
    });
  }

  /** Calls the method (once per catch-up call) and its onSuccess callback; returns the schedule after the run. */
  private async callMethod(
    manager: EntityManager,
    scope: JobScope,
    cron: IrCron,
    start: Date,
    user: JobUser,
    onSuccessName: string | null,
    signal: AbortSignal,
  ): Promise<Success> {
    const method = this.registry.resolve(cron.model, cron.function);
    const args = parseArgs(cron.args);
    // After a trigger, the schedule goes on from the call the trigger displaced.
    const anchor = cron.plannedNextcall ?? cron.nextcall;
    const { catchUp, error: scheduleError } = tryCatchUp(scheduleOf(cron, user.tz), anchor, start, cron.nextcallWall);
    const plan = planCalls({
      doall: cron.doall,
      numbercall: cron.numbercall,
      missed: catchUp?.missed ?? 1,
      maxCalls: this.options.maxCatchUpCalls,
    });
    // A cron whose next run cannot be computed (after 9999-12-31, corrupt row) does not run: it fails
    // like any job, and its failure deactivates it. A last call (one-shot job) needs no next run.
    if (scheduleError && plan.active) throw scheduleError;
    const call = (fn: (env: JobEnv) => unknown, n: number, of: number) =>
      untilAborted(
        scope.run(() =>
          runInJob(user.id, manager, () => fn(this.envFor(cron, user, manager, start, signal, n, of)), cron.id),
        ),
        signal,
      );
    let result: unknown;
    for (let n = 1; n <= plan.calls; n++) result = await call((env) => method(env, ...args), n, plan.calls);
    // A one-shot job stores its return value (a bad one fails the run); a recurring cron keeps none.
    const stored = cron.hrpCronJobId === null ? null : resultText(result, this.options.maxResultBytes);
    if (onSuccessName) {
      const onSuccess = this.resolveCallback(onSuccessName);
      const value = stored === null ? toJsonSafe(result) : JSON.parse(stored);
      await call((env) => onSuccess(env, { jobId: cron.hrpCronJobId, result: value }), 1, 1);
    }
    return {
      cron,
      start,
      end: this.options.now(),
      calls: plan.calls,
      nextcall: catchUp && catchUp.missed > 0 ? catchUp.nextcall : anchor,
      numbercall: plan.numbercallLeft,
      active: plan.active,
      nextcallWall: catchUp && catchUp.missed > 0 ? (catchUp.planned ?? null) : cron.nextcallWall,
      result: stored,
    };
  }

  /** Records, in the batch's transaction, a job that did not succeed: stopped, interrupted, or failed. */
  private async recordUnsuccessful(
    manager: EntityManager,
    cron: IrCron,
    start: Date,
    caught: unknown,
    signal: AbortSignal,
    workerSignal: AbortSignal,
  ): Promise<JobOutcome> {
    const base = resultBase(cron);
    if (signal.aborted && signal.reason instanceof JobStoppedError) {
      const message = signal.reason.message;
      const runLogId = await this.records.recordStopped(manager, cron, start, message);
      if (runLogId === null) return this.lost(cron, caught);
      this.options.logger.warn("job stopped by an operator", { cronId: cron.id, jobId: cron.hrpCronJobId });
      return { kind: "recorded", result: { ...base, outcome: "stopped", calls: 0, error: message, runLogId } };
    }
    const timedOut = signal.aborted && signal.reason instanceof JobTimeoutError;
    if (!timedOut && workerSignal.aborted) {
      // The worker is stopping and the method gave up: not the job's fault. Its writes
      // rolled back; hand the cron back so another worker (or this one, later) runs it.
      const note = `Worker ${this.workerId} stopped during the run (${coerceError(signal.reason ?? caught).message}); the run was rolled back and released to run again`;
      const runLogId = await this.records.recordInterrupted(manager, cron, start, note, () =>
        this.claims.release(manager, cron, this.workerId),
      );
      this.options.logger.warn("run interrupted by worker stop; released", { cronId: cron.id, name: cron.name });
      return {
        kind: "recorded",
        result: { ...base, outcome: "interrupted", calls: 0, error: note, runLogId: runLogId ?? undefined },
      };
    }
    // Recorded with the batch's other failures, in bulk (see Executor).
    const thrown = timedOut ? signal.reason : caught;
    return {
      kind: "failure",
      failure: { cron, start, end: this.options.now(), excInfo: formatExcInfo(thrown), thrown },
      error: coerceError(thrown).message,
    };
  }

  /** Presumed dead and recovered while running: the run belongs to another worker now. */
  private lost(cron: IrCron, caught: unknown): JobOutcome {
    const lost = new ClaimLostError(cron.id, this.workerId, cron.hrpCronJobId);
    this.options.logger.warn(lost.message, { cronId: cron.id, error: coerceError(caught).message });
    return { kind: "recorded", result: skipped(cron, lost.message) };
  }

  /** The `env` a job method (or callback) receives. */
  envFor(
    cron: IrCron,
    user: JobUser,
    manager: EntityManager,
    start: Date,
    signal: AbortSignal,
    call: number,
    calls: number,
  ): JobEnv {
    return {
      uid: user.id,
      user,
      manager,
      cronId: cron.id,
      jobId: cron.hrpCronJobId,
      lastcall: cron.lastcall,
      now: start,
      signal,
      workerId: this.workerId,
      call,
      calls,
      progress: this.progress.reporter(cron.id, cron.hrpCronJobId),
    };
  }

  /** A stored `onSuccess` / `onFailure` name (written by `enqueue` from a registered method). */
  private resolveCallback(name: string) {
    const { model, method } = splitMethodName(name) ?? { model: "", method: name };
    return this.registry.resolve(model, method);
  }
}
