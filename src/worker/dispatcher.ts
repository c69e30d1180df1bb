import { setMaxListeners } from "node:events";
import type { DataSource } from "typeorm";
import { backendFor, localFor, type Backend } from "../backend";
import type { ProcessLocal } from "../backend/processLocal";
import type { IrCron } from "../schema/entities/IrCron";
import { ClaimStore, type ClaimPlan, type Claim } from "../store/claims";
import { CrashRecords } from "../store/crashes";
import { SandboxPool } from "./sandbox";
import { ClaimLostError } from "../core/errors";
import { Executor, type BatchOutcome } from "./executor";
import type { DispatcherOptions } from "../core/options";
import { resolveDispatcherOptions, type ResolvedDispatcherOptions } from "../core/resolveOptions";
import { ResUsersResolver } from "../store/users";
import { checkRegistry, type ModelRegistry } from "../core/registry";
import { checkId } from "../core/validate";
import { withTransientRetry, type RetryPolicy } from "../backend/retry";
import { OwnClaims } from "./ownClaims";
import { Liveness } from "./liveness";
import type { RunResult } from "../core/types";
import { WakeableSleep } from "./wakeableSleep";
import { ClaimSizing } from "./claimSizing";
import { MethodGate } from "./methodGate";

/** The worker-stop controller: every running job listens to it, so it may have many listeners. */
function workerAbort(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/** Retry delay for due rows that could not be claimed (their concurrency key or queue at its limit). */
const BLOCKED_RETRY_MS = 250;

/**
 * The worker: claims due crons and runs them through the {@link Executor}.
 *
 * - `runDue()` runs everything due now and resolves with what it did (tests,
 *   `--burst`, scripts).
 * - `start()` runs a loop: drain what is due, then sleep until the earliest
 *   `nextcall`, the poll interval, or a wake-up from this process (a job
 *   added, a cron triggered), whichever comes first. `stop()` stops
 *   claiming, lets the running method finish within `gracefulStopMs`, then
 *   aborts its `env.signal`; an unfinished run is rolled back and released.
 * - It registers in `hrp_cron_worker`, heartbeats, and recovers claims of
 *   workers that died.
 *
 * ```ts
 * const dispatcher = new Dispatcher(dataSource, registry, { pollIntervalMs: 5000 });
 * await dispatcher.start();
 * process.on("SIGTERM", () => dispatcher.stop());
 * ```
 */
export class Dispatcher {
  /** Unique id of this worker, `host:pid:random`; stored in claims and run logs. */
  readonly workerId = ClaimStore.newWorkerId();
  private readonly backend: Backend;
  /** In-process wake-ups, runs in progress and live dispatchers of this DataSource. */
  private readonly local: ProcessLocal;
  private readonly options: ResolvedDispatcherOptions;
  private readonly claims: ClaimStore;
  /** Leaves jobs of methods this worker lacks to workers that serve them (rolling deploys). */
  private readonly gate: MethodGate;
  private readonly executor: Executor;
  private readonly sandbox: SandboxPool | null;
  private running = false;
  private loop: Promise<void> | null = null;
  private readonly alarm = new WakeableSleep();
  /** Claimed, not started yet: claimed ahead, or deferred by a batch. */
  private readonly buffered: IrCron[] = [];
  private readonly sizing: ClaimSizing;
  /** A claim running in the background while batches run (see `prefetchIfLow`), or null. */
  private prefetching: Promise<void> | null = null;
  private prefetchError: unknown = null;
  /** The last claim got all it asked for: more is probably due. */
  private backlog = false;
  /** Batches in progress, with their queue and crons. */
  private readonly inflight = new Map<Promise<unknown>, { readonly queue: string; readonly crons: readonly IrCron[] }>();
  /** The batch of a suspect cron, which runs alone in this worker, or null. */
  private lone: Promise<unknown> | null = null;
  /** Claimed by `runNow` / `runDue` and not finished yet. */
  private readonly manual = new Set<IrCron>();
  /** The re-check of claims the database gives this worker that it does not hold (see OwnClaims). */
  private readonly own: OwnClaims;
  /** Set while `stop()` runs: retries (`retry`) give up at once instead of waiting out their budget. */
  private stopping = false;
  private readonly retry: RetryPolicy;
  private abandoned = false;
  /** Registration, heartbeat, recovery (of dead workers' claims and of its own), stop requests. */
  private readonly liveness: Liveness;
  private unlisten: (() => Promise<void>) | null = null;
  private abort = workerAbort();
  /** Set by a claim that found nothing to take: when the next ready row is due. */
  private idleUntil: Date | "never" | null = null;

  constructor(dataSource: DataSource, registry: ModelRegistry, options: DispatcherOptions = {}) {
    this.backend = backendFor(dataSource);
    this.local = localFor(dataSource);
    checkRegistry(registry);
    this.options = resolveDispatcherOptions(options, this.backend.serialTransactions, new ResUsersResolver());
    this.sizing = new ClaimSizing(this.options.batchSize, this.options.batchMaxMs);
    const crashes = new CrashRecords(this.backend, this.options, (f) => this.executor.failedByRecovery(f.cron, f.start, f.error)); // onFailure
    this.claims = new ClaimStore(this.backend, this.options.logger, crashes, this.local.workers);
    this.gate = new MethodGate(this.backend, registry, this.options);
    this.executor = new Executor(this.backend, this.claims, registry, this.options, this.workerId, this.local.runs);
    this.own = new OwnClaims(this.backend, this.claims, this.workerId, this.options.logger, () => this.heldIds());
    this.retry = { ...this.options, stopping: () => this.stopping };
    this.liveness = new Liveness(this.backend, this.claims, this.own, this.workerId, this.options, this.retry, this.gate.methods());
    this.sandbox = this.options.sandbox ? new SandboxPool(this.options.sandbox, this.workerId, this.options.logger) : null;
  }

  /** True between `start()` and the end of `stop()`. */
  get isRunning(): boolean {
    return this.running;
  }

  /**
   * Runs every cron that is due now, in order `priority, nextcall, id`, and
   * resolves with one result per run. Crons claimed by other workers are
   * left to them. Stops early if every run of a batch was skipped (the
   * database stayed busy), so it always returns.
   */
  async runDue(): Promise<RunResult[]> {
    const temporary = !this.liveness.registered;
    if (temporary) await this.liveness.register();
    try {
      return await this.drain();
    } finally {
      if (temporary && !this.running) await this.liveness.unregister();
    }
  }

  /**
   * Claims cron `cronId` whether or not it is due and runs it now, in this
   * process (Odoo's "Run Manually"); resolves with the outcome.
   * @throws CurrentlyRunningError when another worker is executing it
   */
  async runNow(cronId: number): Promise<RunResult> {
    checkId("cronId", cronId);
    const temporary = !this.liveness.registered;
    if (temporary) await this.liveness.register();
    try {
      const now = this.options.now();
      const claim = () => withTransientRetry(this.backend, this.retry, () => this.claims.claimOne(this.workerId, cronId, now));
      const cron = await this.own.claiming(claim, (claimed) => this.manual.add(claimed));
      try {
        return await this.executeSafely(cron);
      } finally {
        this.manual.delete(cron);
      }
    } finally {
      if (temporary && !this.running) await this.liveness.unregister();
    }
  }

  /** Starts the polling loop in the background; resolves once the worker is registered. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.stopping = false;
    this.abort = workerAbort();
    await this.liveness.register();
    await this.liveness.recover();
    // Liveness off the claim path: heartbeat, recovery of dead workers' claims and of its own, stop requests.
    this.liveness.start(() => this.checkStopRequests());
    // Other processes' new work (PostgreSQL NOTIFY); polling remains the backstop.
    this.unlisten = await this.backend.listen(() => this.requestWake(), this.options.logger);
    this.options.logger.info("worker started", { workerId: this.workerId, dialect: this.backend.dialect });
    this.loop = this.runLoop();
  }

  /**
   * Stops claiming, waits up to `gracefulStopMs` for the run in progress,
   * then aborts its signal and waits for it to unwind (its transaction rolls
   * back and its claim is released). Resolves when the worker is gone.
   */
  async stop(): Promise<void> {
    if (!this.running) {
      await this.sandbox?.close(); // threads started by runDue()
      return;
    }
    this.running = false;
    this.stopping = true;
    this.requestWake();
    let abandon: NodeJS.Timeout | undefined;
    const abandoned = new Promise<"abandoned">((resolve) => {
      const grace = setTimeout(() => {
        this.abort.abort(new Error("worker stopping"));
        abandon = setTimeout(() => resolve("abandoned"), this.options.abandonAfterAbortMs);
      }, this.options.gracefulStopMs);
      abandon = grace;
    });
    try {
      const outcome = await Promise.race([this.loop, abandoned]);
      if (outcome === "abandoned") {
        this.options.logger.error("a job method ignored the stop signal; abandoning its run (it cannot commit) so other workers recover it", {
          workerId: this.workerId,
        });
        this.abandoned = true;
      }
    } finally {
      clearTimeout(abandon);
      this.liveness.stop();
      await this.unlisten?.().catch(() => undefined);
      this.unlisten = null;
      this.loop = null;
      // Whatever this worker still holds without running it (a release that failed during an outage).
      if (!this.abandoned) await this.own.releaseAll(this.options.now()).catch((e) => this.options.logger.warn("could not release claims at stop; others will recover them", { error: String(e) }));
      // An abandoned run may still hold SQLite's write lock: do not wait for it forever.
      const unregistered = this.liveness.unregister();
      if (this.abandoned) await Promise.race([unregistered, new Promise((r) => setTimeout(r, this.options.abandonAfterAbortMs).unref())]);
      else await unregistered;
      await this.sandbox?.close();
      this.stopping = false; // stopped: a later runDue() retries as usual
      this.options.logger.info("worker stopped", { workerId: this.workerId });
    }
  }

  private async runLoop(): Promise<void> {
    const unsubscribe = this.local.wakeups.subscribe(() => this.requestWake());
    let errors = 0;
    try {
      while (this.running) {
        let delayMs = this.options.pollIntervalMs;
        this.alarm.rearm();
        this.idleUntil = null;
        try {
          await this.fill();
          if (this.idleUntil !== null) delayMs = Math.min(delayMs, this.msUntil(this.idleUntil));
          errors = 0;
        } catch (error) {
          errors++;
          delayMs = Math.min(this.options.pollIntervalMs, 100 * 2 ** Math.min(errors, 8));
          this.options.logger.error("dispatcher loop error; retrying", { error: String(error), retryInMs: delayMs });
        }
        if (this.running) await this.alarm.sleep(delayMs);
      }
      await Promise.allSettled(this.inflight.keys());
      await this.prefetching;
      await this.releaseBuffered(); // including what the last batches deferred
    } finally {
      unsubscribe();
    }
  }

  /**
   * How long to sleep when the last claim found nothing it could take:
   * until the earliest ready row is due. A row that is due but could not be
   * claimed (its key or queue at its limit) is looked at again shortly, not
   * in a tight loop.
   */
  private msUntil(next: Date | "never"): number {
    if (next === "never") return Number.POSITIVE_INFINITY;
    const ms = next.getTime() - this.options.now().getTime();
    return ms > 0 ? ms : Math.min(this.options.pollIntervalMs, BLOCKED_RETRY_MS);
  }

  /** What the next claim may take from each queue, in order of preference. */
  private plans(perQueueMax: (queue: string) => number): ClaimPlan[] {
    return this.options.queues.map((queue) => ({
      queue, max: perQueueMax(queue), maxConcurrency: this.options.queueSet.get(queue).maxConcurrency,
    }));
  }

  /** `runDue`: claims of `batchSize`, run as batches one after another, until nothing is due. */
  private async drain(): Promise<RunResult[]> {
    const results: RunResult[] = [];
    await this.liveness.recover();
    for (;;) {
      const claim = () => this.gate.claim(() => withTransientRetry(this.backend, this.retry, () =>
        this.claims.claimDue(this.workerId, this.options.now(), this.plans(() => this.options.batchSize), this.options.batchSize, this.gate),
      ));
      let pending = (await this.own.claiming(claim, (claimed) => claimed.crons.forEach((c) => this.manual.add(c)))).crons;
      if (pending.length === 0) break;
      let progressed = false;
      try {
        while (pending.length > 0) {
          const outcome = await this.runBatch(pending, () => true);
          results.push(...outcome.results);
          if (outcome.results.some((r) => r.outcome !== "skipped")) progressed = true;
          for (const cron of pending) if (!outcome.deferred.includes(cron)) this.manual.delete(cron);
          pending = outcome.deferred;
        }
      } finally {
        for (const cron of pending) this.manual.delete(cron);
      }
      if (!progressed) break;
    }
    return results;
  }

  /**
   * The loop: claims only what its free slots (per queue and in all) can
   * take, and starts batches. With several slots it claims one round ahead,
   * so a finishing slot usually finds work already claimed: one claim round
   * trip per batch, not per job. While a backlog lasts (the last claim got
   * all it asked for), the next claim runs in the background as soon as less
   * than a round is buffered, so slots do not wait for it. Buffered claims
   * count against global limits and are released on stop.
   */
  private async fill(): Promise<void> {
    const { concurrency, batchSize } = this.options;
    if (this.prefetchError !== null) {
      const error = this.prefetchError;
      this.prefetchError = null;
      throw error;
    }
    while (this.running) {
      const free = concurrency - this.inflight.size;
      if (free <= 0) return this.prefetchIfLow();
      if (this.buffered.length === 0) {
        if (this.prefetching) return; // its end wakes the loop
        const claim = await this.claimRound(free); // into the buffer
        if (this.buffered.length === 0) {
          this.idleUntil = claim.nextDue ?? "never";
          return;
        }
      }
      const first = this.buffered.find((cron) => this.room(cron.queue) > 0);
      if (!first) return this.prefetchIfLow();
      // A suspect (see CrashRecords) runs alone in this worker: once no batch runs, and none beside it.
      if (this.lone || (first.suspect && this.inflight.size > 0)) return;
      // Spread what is buffered over the free slots (each takes at most batchSize), unless
      // transactions run one at a time anyway: then one full batch commits the most.
      const queue = first.queue;
      const inQueue = this.buffered.filter((cron) => cron.queue === queue).length;
      const size = first.suspect ? 1 : this.backend.serialTransactions ? batchSize : Math.min(this.sizing.perSlot(), Math.ceil(inQueue / this.room(queue)));
      const batch: IrCron[] = [];
      for (let i = 0; i < this.buffered.length && batch.length < size; ) {
        if (this.buffered[i].queue === queue) batch.push(...this.buffered.splice(i, 1));
        else i++;
      }
      const began = Date.now();
      const run: Promise<unknown> = this.runBatch(batch, () => this.running)
        .then((outcome) => {
          this.buffered.unshift(...outcome.deferred);
          if (outcome.results.length > 0) this.sizing.observe((Date.now() - began) / outcome.results.length);
        })
        .catch((error: unknown) => this.options.logger.error("batch crashed; recovery will release its claims", { crons: batch.map((c) => c.id), error: String(error) }))
        .finally(() => {
          this.inflight.delete(run);
          if (this.lone === run) this.lone = null;
          this.requestWake(); // a slot is free
        });
      this.inflight.set(run, { queue, crons: batch });
      if (first.suspect) this.lone = run;
    }
  }

  /** Slots a batch of `queue` may still take: free slots, within the queue's cap in this worker. */
  private room(queue: string): number {
    const runningIn = [...this.inflight.values()].filter((b) => b.queue === queue).length;
    const cap = this.options.queueCaps.get(queue) ?? this.options.concurrency;
    return Math.min(this.options.concurrency - this.inflight.size, cap - runningIn);
  }

  /**
   * Claims what `free` slots can start within about batchMaxMs (from the
   * measured time per job), plus one round ahead, less what is buffered:
   * full batches for quick jobs, and a slow job is never hoarded by a busy
   * worker while another one sits idle.
   */
  private async claimRound(free: number): Promise<Claim> {
    const perSlot = this.sizing.perSlot();
    const ahead = this.options.concurrency > 1 ? this.options.concurrency : 0;
    const bufferedIn = (queue: string) => this.buffered.filter((cron) => cron.queue === queue).length;
    const plans = this.plans((queue) => Math.max(0, (Math.max(0, this.room(queue)) + ahead) * perSlot - bufferedIn(queue)));
    const want = Math.max(0, (free + ahead) * perSlot - this.buffered.length);
    if (want === 0) return { crons: [], nextDue: null };
    const claimDue = () => this.gate.claim(() =>
      withTransientRetry(this.backend, this.retry, () => this.claims.claimDue(this.workerId, this.options.now(), plans, want, this.gate)));
    const claim = await this.own.claiming(claimDue, (claimed) => this.buffered.push(...claimed.crons));
    this.backlog = claim.crons.length >= want;
    return claim;
  }

  /**
   * Starts the next claim in the background when less than one round is
   * buffered and the last claim suggests more is due. Its crons join the
   * buffer; an error is rethrown by the next `fill` (the loop's backoff).
   */
  private prefetchIfLow(): void {
    if (this.prefetching || !this.backlog || !this.running || this.options.concurrency <= 1) return;
    if (this.buffered.length >= this.options.concurrency * this.sizing.perSlot()) return;
    const free = Math.max(0, this.options.concurrency - this.inflight.size);
    this.prefetching = this.claimRound(free) // into the buffer
      .then(() => undefined)
      .catch((error: unknown) => {
        this.backlog = false;
        this.prefetchError = error;
      })
      .finally(() => {
        this.prefetching = null;
        this.requestWake();
      });
  }

  /** Hands claimed-but-unstarted crons back (stopping). */
  private async releaseBuffered(): Promise<void> {
    for (const cron of this.buffered.splice(0)) {
      await this.backend.transaction((m) => this.claims.release(m, cron, this.workerId)).catch((error: unknown) =>
        this.options.logger.warn("could not release a claim; recovery will", { cronId: cron.id, error: String(error) }),
      );
    }
  }

  /**
   * Runs claimed crons as one batch (in a sandbox: the first one, in its
   * thread; the rest are deferred). `keepGoing` false makes the batch stop
   * taking jobs (the worker is stopping).
   */
  private async runBatch(crons: IrCron[], keepGoing: () => boolean): Promise<BatchOutcome> {
    if (!this.sandbox) return this.executor.executeBatch(crons, this.abort.signal, keepGoing);
    const [first, ...rest] = crons;
    return { results: [await this.executeSafely(first)], deferred: rest };
  }

  private async executeSafely(cron: Parameters<Executor["execute"]>[0]): Promise<RunResult> {
    try {
      if (this.sandbox) return await this.sandbox.run(cron, this.executor, this.abort.signal);
      return await this.executor.execute(cron, this.abort.signal);
    } catch (error) {
      if (!(error instanceof ClaimLostError)) throw error;
      return {
        cronId: cron.id, jobId: cron.hrpCronJobId, name: cron.name, model: cron.model, function: cron.function,
        userId: cron.userId, outcome: "skipped", calls: 0, error: error.message,
      };
    }
  }

  /** Aborts runs an operator asked to stop (`JobQueue.stopJob`); checked with each heartbeat. */
  private async checkStopRequests(): Promise<void> {
    if (this.executor.runningCronIds().length === 0 && this.inflight.size === 0) return;
    for (const row of await this.claims.stopRequests(this.workerId)) {
      this.executor.requestStop(row.cronId, row.jobId);
      this.sandbox?.requestStop(row.cronId, row.jobId);
    }
  }

  /** Crons this worker holds in memory: claimed ahead, in a batch, in a manual run. */
  private *heldIds(): Iterable<number> {
    for (const cron of this.buffered) yield cron.id;
    for (const batch of this.inflight.values()) for (const cron of batch.crons) yield cron.id;
    for (const cron of this.manual) yield cron.id;
    yield* this.executor.runningCronIds();
  }

  /** Wakes the loop; remembered if it arrives while draining, so it is never lost. */
  private requestWake(): void {
    this.alarm.wake();
  }
}
