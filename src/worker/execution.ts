import { ClaimLostError } from "../core/errors";
import type { RunResult } from "../core/types";
import type { ClaimedRun } from "../store/claims";
import type { RunKey } from "../store/runSource";
import type { BatchBody, BatchOutcome, Executor } from "./executor";
import type { PreparedBatch } from "./preparedBatch";
import { skipped } from "./runResult";
import type { SandboxPool } from "./sandbox";

/**
 * Where a dispatcher's runs execute: in this thread through the
 * {@link Executor} (batches), or one by one in sandbox threads that can be
 * terminated ({@link SandboxPool}). Stop requests reach either.
 */
export class Execution {
  constructor(
    private readonly executor: Executor,
    private readonly sandbox: SandboxPool | null,
    /** The worker-stop signal of the current run of the dispatcher. */
    private readonly workerSignal: () => AbortSignal,
  ) {}

  /**
   * The next batch's transaction, opened while its claim commits (see
   * `Executor.prepare`); null in a sandbox, whose runs have transactions of
   * their own in their threads.
   */
  prepare(userIds: readonly number[], keepGoing: () => boolean): PreparedBatch<BatchBody> | null {
    return this.sandbox ? null : this.executor.prepare(userIds, this.workerSignal(), keepGoing);
  }

  /**
   * Runs claimed runs as one batch (in a sandbox: the first one, in its
   * thread; the rest are deferred). `keepGoing` false makes the batch stop
   * taking jobs (the worker is stopping). `prepared`: from {@link prepare}.
   */
  async batch(
    runs: ClaimedRun[],
    keepGoing: () => boolean,
    prepared?: PreparedBatch<BatchBody>,
  ): Promise<BatchOutcome> {
    if (!this.sandbox) return this.executor.executeBatch(runs, this.workerSignal(), keepGoing, prepared);
    const [first, ...rest] = runs;
    return { results: [await this.one(first)], deferred: rest };
  }

  /** Runs one claimed run; a claim lost meanwhile gives a `skipped` result. */
  async one(run: ClaimedRun): Promise<RunResult> {
    try {
      if (this.sandbox) return await this.sandbox.run(run, this.executor, this.workerSignal());
      return await this.executor.execute(run, this.workerSignal());
    } catch (error) {
      if (!(error instanceof ClaimLostError)) throw error;
      return skipped(run.cron, error.message);
    }
  }

  /** Aborts run `key`, wherever it runs (an operator's stop request). */
  requestStop(key: RunKey, jobId: number | null): void {
    this.executor.requestStop(key, jobId);
    this.sandbox?.requestStop(key, jobId);
  }

  /** Runs in progress in this thread now. */
  runningKeys(): RunKey[] {
    return this.executor.runningKeys();
  }

  /** Ends the sandbox threads, if any. */
  async close(): Promise<void> {
    await this.sandbox?.close();
  }
}
