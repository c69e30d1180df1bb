import type { EntityManager } from "typeorm";
import type { JobUser } from "./users";

/**
 * Terminology
 * - cron: an `ir_cron` row, a scheduled call of `model.function(args)`; recurring or one-shot.
 * - job: an `hrp_cron_job` row, the audited record of one delayed call made by `runByCron`;
 *   it owns a one-shot cron.
 * - run: one execution of a cron by a worker, logged in `hrp_cron_run_log`.
 * - claim: `ir_cron.running_worker`, set while a worker executes the cron.
 * - worker: one running {@link Dispatcher}, registered in `hrp_cron_worker`.
 */

/** What a job method receives as its first argument. */
export interface JobEnv {
  /** Id of the user the method runs as (the cron's `user_id`). */
  readonly uid: number;
  /** That user's row. */
  readonly user: JobUser;
  /**
   * EntityManager of the run's transaction. Write through it: the writes
   * commit together with the run's bookkeeping, or roll back if the method throws.
   */
  readonly manager: EntityManager;
  readonly cronId: number;
  /** The `hrp_cron_job` id for calls made by `runByCron`, else null. */
  readonly jobId: number | null;
  /** Start of the previous successful run, or null on the first run. */
  readonly lastcall: Date | null;
  /** The time this run started (from the dispatcher's clock). */
  readonly now: Date;
  /** Aborted when the worker is stopping and the grace period is over; long methods should check it. */
  readonly signal: AbortSignal;
  /** Id of the worker executing the run. */
  readonly workerId: string;
  /** 1-based index of this call when a catch-up makes several calls in one run. */
  readonly call: number;
  /** Number of calls in this run. */
  readonly calls: number;
  /**
   * Reports how far the job is (Odoo 18's committed progress, BullMQ's
   * `updateProgress`): `done` of `total` units (non-negative integers;
   * `total` when known), with an optional `message` (up to 500 characters).
   * Returns at once: the worker writes it in a transaction of its own,
   * outside the job's, so operators see it while the job runs (`hrp-cron
   * job ID`, `jobs`, `doctor`; on SQLite, whose one writer is the job's
   * transaction, once that ends) and it stays when the run rolls back. A
   * tight loop is fine: at most one write per `progressIntervalMs` per job,
   * the latest value always written at the end of the run. Each call tells
   * `job:progress`. A recurring cron's progress is told, not stored.
   * @throws ValidationError for a negative or fractional count, `done > total`, or a too long message
   */
  progress(done: number, total?: number, message?: string): void;
}

/** Minimal logger; pass your own (pino, winston, console) through the options. */
export interface Logger {
  debug(message: string, context?: Record<string, unknown>): void;
  info(message: string, context?: Record<string, unknown>): void;
  warn(message: string, context?: Record<string, unknown>): void;
  error(message: string, context?: Record<string, unknown>): void;
}

/** Result of one run, as returned by `Dispatcher.runDue()`. */
export interface RunResult {
  readonly cronId: number;
  readonly jobId: number | null;
  readonly name: string;
  readonly model: string;
  readonly function: string;
  readonly userId: number;
  /**
   * `done`; `failed`; `skipped` when the run did not happen (a transient
   * database error persisted, or the claim was lost) and the cron stays due;
   * `interrupted` when the worker stopped mid-run and released the cron;
   * `stopped` when an operator stopped it (`stopJob`).
   */
  readonly outcome: "done" | "failed" | "skipped" | "interrupted" | "stopped";
  readonly calls: number;
  readonly error?: string;
  readonly runLogId?: number;
  /** On a `failed` run of a job with retries left: its next try (the job is `pending` again). Absent otherwise. */
  readonly retry?: RunRetry;
}

/** A failed job's next try (`RunResult.retry`). */
export interface RunRetry {
  /** The run that failed, counted like `hrp_cron_job.attempts` (runs started): 1 for the first. */
  readonly attempt: number;
  /** When the job is due again. */
  readonly at: Date;
  /** The backoff: from the failed run's end to `at` (the job's `retryBackoffMs`, or a `RetryableJobError`'s delay). */
  readonly delayMs: number;
}
