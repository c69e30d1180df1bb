import { QueryFailedError } from "typeorm";
import type { Backend, TransactionWork } from "./backend";
import { CommitOutcomeUnknownError, DatabaseUnavailableError, type WriteDescription } from "../core/errors";

/**
 * How long, and how often, transient database failures are retried. The
 * resolved options of every hrp-cron object satisfy it; a dispatcher adds
 * `stopping`.
 */
export interface RetryPolicy {
  /** Retry for at most this long after the first failure. */
  readonly transientRetryBudgetMs: number;
  /** First backoff delay; doubles each attempt. */
  readonly transientRetryBaseMs: number;
  /** Cap of one backoff delay. */
  readonly transientRetryMaxDelayMs: number;
  /** Asked before each retry: true gives up at once (a stopping worker must not sit in a long retry). */
  readonly stopping?: () => boolean;
}

/**
 * The backoff of one call: exponential from `transientRetryBaseMs`, capped
 * at `transientRetryMaxDelayMs`, with jitter (each delay is 50–100% of its
 * step, so workers cut off together do not come back in lockstep), for at
 * most `transientRetryBudgetMs` after the first failure. The last delay is
 * shortened so that one attempt falls at the end of the budget.
 */
export class RetryBudget {
  private firstFailureAt: number | null = null;
  private retries = 0;
  /** The last `next()` gave up because the caller is stopping. */
  stopped = false;

  constructor(private readonly policy: RetryPolicy) {}

  /** Attempts made so far (the first one included). */
  get attempts(): number {
    return this.retries + 1;
  }

  get elapsedMs(): number {
    return this.firstFailureAt === null ? 0 : Date.now() - this.firstFailureAt;
  }

  /** After a failure: waits before the next attempt and resolves true, or false (at once) when the budget is spent or the caller is stopping. */
  async next(): Promise<boolean> {
    this.firstFailureAt ??= Date.now();
    if (this.isStopping()) return false;
    const left = this.policy.transientRetryBudgetMs - this.elapsedMs;
    if (left <= 0) return false;
    const step = Math.min(
      this.policy.transientRetryMaxDelayMs,
      this.policy.transientRetryBaseMs * 2 ** Math.min(this.retries, 30),
    );
    const delay = Math.min(left, step / 2 + (Math.random() * step) / 2);
    this.retries++;
    await new Promise((resolve) => setTimeout(resolve, delay));
    return !this.isStopping();
  }

  private isStopping(): boolean {
    this.stopped = this.policy.stopping?.() ?? false;
    return this.stopped;
  }
}

/**
 * Runs `work`, retrying it while it fails with a transient database error
 * (SQLite busy, serialization failure, deadlock, dropped or refused
 * connection, server starting up or shutting down) for the policy's budget.
 * Other errors are thrown as they are; when the budget is spent (or the
 * caller is stopping) a {@link DatabaseUnavailableError} says whether
 * anything may have been written (`"unknown"` when an attempt failed at
 * its COMMIT). `work` must be safe to repeat (a whole transaction whose
 * second run is harmless: claims are fenced, heartbeats idempotent). Public
 * writes that must happen exactly once use {@link commitOnce} instead.
 */
export async function withTransientRetry<T>(
  backend: Backend,
  policy: RetryPolicy,
  work: () => Promise<T>,
  onRetry?: (error: unknown, attempt: number) => void,
  what: WriteDescription = { operation: "a database call" },
): Promise<T> {
  const budget = new RetryBudget(policy);
  let atCommit = false;
  for (;;) {
    try {
      return await work();
    } catch (error) {
      if (!backend.isTransientError(error)) throw error;
      atCommit ||= failedAtCommit(error);
      onRetry?.(error, budget.attempts);
      if (!(await budget.next()))
        throw new DatabaseUnavailableError(
          what,
          atCommit ? "unknown" : "nothing",
          budget.attempts,
          budget.elapsedMs,
          error,
          budget.stopped,
        );
    }
  }
}

/**
 * True for what {@link withTransientRetry} and {@link commitOnce} throw when
 * the database is out of reach, and for the transient errors themselves:
 * the engine then hands claims back (or leaves them to the re-check)
 * instead of blaming a job.
 */
export function isOutage(backend: Backend, error: unknown): boolean {
  return (
    error instanceof DatabaseUnavailableError ||
    error instanceof CommitOutcomeUnknownError ||
    backend.isTransientError(error)
  );
}

/** The statement that failed was the transaction's COMMIT (TypeORM reports the query). */
function failedAtCommit(error: unknown): boolean {
  return error instanceof QueryFailedError && /^\s*COMMIT\b/i.test(String(error.query));
}

/** `work` in a transaction of its own, the whole transaction retried while it fails with a transient error ({@link withTransientRetry}). */
export function retriedTransaction<T>(backend: Backend, policy: RetryPolicy, work: TransactionWork<T>): Promise<T> {
  return withTransientRetry(backend, policy, () => backend.transaction(work));
}
