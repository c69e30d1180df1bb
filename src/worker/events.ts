import { TypedEvents } from "../core/events";
import { joinMethodName } from "../core/methodName";
import type { RunResult, RunRetry } from "../core/types";

/** A run's method is about to be called (inside its batch's transaction: nothing of it is committed yet). */
export interface JobStartEvent {
  readonly workerId: string;
  readonly cronId: number;
  /** The `hrp_cron_job` id; null for a recurring cron. */
  readonly jobId: number | null;
  readonly name: string;
  /** `model.method`. */
  readonly method: string;
  readonly queue: string;
  readonly userId: number;
  readonly startedAt: Date;
}

/** A run ended and what it wrote is committed (or rolled back, for a failure): its result, with its queue and duration. */
export interface JobEndEvent extends RunResult {
  readonly workerId: string;
  readonly queue: string;
  /** From the batch's start to its commit, divided evenly among its runs for batched runs. */
  readonly durationMs: number;
}

/** A batch transaction ended (committed, or its runs were recorded one by one after a failure). */
export interface BatchEndEvent {
  readonly workerId: string;
  readonly queue: string;
  readonly runs: number;
  readonly done: number;
  readonly failed: number;
  /** Runs claimed but left for the next batch (the batch's time budget, a stopping worker). */
  readonly deferred: number;
  readonly durationMs: number;
}

/** This worker started (registered) or stopped (unregistered). */
export interface WorkerEvent {
  readonly workerId: string;
}

/** Claims of dead workers this worker recovered: released (their runs are due again), or failed at their crash limit. */
export interface ClaimsRecoveredEvent {
  readonly workerId: string;
  /** Claims recovered: `released` + `failed`. */
  readonly recovered: number;
  /** Runs due again (each logged `interrupted`; a job is `pending` again). */
  readonly released: number;
  /** Runs failed because they killed their worker `maxCrashes` times (each also told by `job:failure`). */
  readonly failed: number;
}

/**
 * A job's run failed and the job has retries left: it is `pending` again,
 * due at `retry.at` (after its backoff). Told instead of `job:failure`,
 * after the run's `job:end` (outcome `failed`).
 */
export interface JobRetryEvent extends JobEndEvent {
  /** The run that failed (`attempt`), when the job is due again (`at`), and the backoff (`delayMs`). */
  readonly retry: RunRetry;
}

/** `env.progress(done, total, message)` of a running method. */
export interface JobProgressEvent {
  readonly workerId: string;
  readonly cronId: number;
  /** Null for a recurring cron (its progress is not stored). */
  readonly jobId: number | null;
  readonly done: number;
  readonly total: number | null;
  readonly message: string | null;
}

/**
 * Every event a {@link Dispatcher} emits, by name, with its payload. Each
 * run that ends is told once by `job:end`, then by at most one of
 * `job:success` (done), `job:retry` (failed, will run again) and
 * `job:failure` (failed for good).
 */
export interface DispatcherEventMap {
  /** A method is about to run (inside its batch's transaction), once per try. */
  "job:start": JobStartEvent;
  /** Every committed run end: the outcome is in the payload (`done`, `failed`, `skipped`, `interrupted`, `stopped`). */
  "job:end": JobEndEvent;
  /** A run that ended `done`. */
  "job:success": JobEndEvent;
  /**
   * A run that failed for good: a job with no retry left (it is `failed`;
   * its `onFailure` runs next), or any failed run of a recurring cron (it
   * moves on to its next occurrence). A job that will run again is told by
   * `job:retry` instead. Also told (without a `job:end`, `durationMs` 0) for
   * a run failed by recovery because it killed its worker `maxCrashes` times.
   */
  "job:failure": JobEndEvent;
  /** A job's run failed and the job will run again after its backoff (see {@link JobRetryEvent}). */
  "job:retry": JobRetryEvent;
  /** A running method reported its progress (`env.progress`), told at each call. */
  "job:progress": JobProgressEvent;
  "batch:end": BatchEndEvent;
  "worker:start": WorkerEvent;
  "worker:stop": WorkerEvent;
  "claims:recovered": ClaimsRecoveredEvent;
}

/**
 * The dispatcher's typed events (`dispatcher.events`), for metrics, traces
 * and alerts (see {@link TypedEvents}: listeners run synchronously, one that
 * throws is logged and never disturbs the worker).
 *
 * ```ts
 * const off = dispatcher.events.on("job:failure", (e) => alert(`${e.name} failed: ${e.error}`));
 * dispatcher.events.on("job:retry", (e) => log(`${e.name} failed (try ${e.retry.attempt}), again at ${e.retry.at.toISOString()}`));
 * dispatcher.events.on("job:end", (e) => histogram.observe({ queue: e.queue, outcome: e.outcome }, e.durationMs / 1000));
 * ```
 */
export class DispatcherEvents extends TypedEvents<DispatcherEventMap> {}

/** The `job:start` event of `run` (a claimed cron or job) starting at `startedAt`. */
export function startEvent(
  run: {
    readonly cron: {
      id: number;
      hrpCronJobId: number | null;
      name: string;
      model: string;
      function: string;
      queue: string;
      userId: number;
    };
  },
  workerId: string,
  startedAt: Date,
): JobStartEvent {
  const { cron } = run;
  return {
    workerId,
    cronId: cron.id,
    jobId: cron.hrpCronJobId,
    name: cron.name,
    method: joinMethodName(cron.model, cron.function),
    queue: cron.queue,
    userId: cron.userId,
    startedAt,
  };
}
