import { ClaimLostError } from "../core/errors";
import type { RunResult } from "../core/types";
import type { ClaimedRun } from "../store/claims";
import type { RunKey } from "../store/runSource";
import { startEvent, type DispatcherEvents } from "./events";
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
    /** Told of each run's end and each batch's, once committed. */
    private readonly events: DispatcherEvents,
    private readonly workerId: string,
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
    const began = Date.now();
    if (!this.sandbox) {
      const outcome = await this.executor.executeBatch(runs, this.workerSignal(), keepGoing, prepared);
      this.ended(runs, outcome, began);
      return outcome;
    }
    const [first, ...rest] = runs;
    const outcome = { results: [await this.runOne(first)], deferred: rest };
    this.ended(runs, outcome, began);
    return outcome;
  }

  /** Runs one claimed run; a claim lost meanwhile gives a `skipped` result. */
  async one(run: ClaimedRun): Promise<RunResult> {
    const began = Date.now();
    const result = await this.runOne(run);
    this.ended([run], { results: [result], deferred: [] }, began);
    return result;
  }

  /** Emits the end of each run of a batch and of the batch (see `DispatcherEvents`). */
  private ended(runs: readonly ClaimedRun[], outcome: Pick<BatchOutcome, "results" | "deferred">, began: number): void {
    const { events, workerId } = this;
    const { results } = outcome;
    if (results.length === 0) return;
    const durationMs = Date.now() - began;
    const queueOf = new Map(runs.map((r) => [`${r.cron.id}:${r.cron.hrpCronJobId}`, r.cron.queue]));
    const queue = runs[0].cron.queue;
    for (const result of results) {
      const event = {
        ...result,
        workerId,
        queue: queueOf.get(`${result.cronId}:${result.jobId}`) ?? queue,
        durationMs: durationMs / results.length,
      };
      events.emit("job:end", event);
      if (result.outcome === "done") events.emit("job:success", event);
      else if (result.outcome === "failed" && result.retry) events.emit("job:retry", { ...event, retry: result.retry });
      else if (result.outcome === "failed") events.emit("job:failure", event);
    }
    const count = (outcome: RunResult["outcome"]) => results.filter((r) => r.outcome === outcome).length;
    events.emit("batch:end", {
      workerId,
      queue,
      runs: results.length,
      done: count("done"),
      failed: count("failed"),
      deferred: outcome.deferred.length,
      durationMs,
    });
  }

  /** Runs one claimed run, in a sandbox thread or here. */
  private async runOne(run: ClaimedRun): Promise<RunResult> {
    try {
      if (this.sandbox) {
        this.events.emit("job:start", startEvent(run, this.workerId, new Date()));
        return await this.sandbox.run(run, this.executor, this.workerSignal());
      }
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
