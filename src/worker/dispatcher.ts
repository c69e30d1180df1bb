import type { DataSource } from "typeorm";
import { backendFor, localFor, type Backend } from "../backend";
import type { ProcessLocal, WorkBand } from "../backend/processLocal";
import { withTransientRetry, type RetryPolicy } from "../backend/retry";
import { newWorkerId } from "../core/host";
import type { DispatcherOptions, RunDueOptions } from "../core/options";
import { checkRegistry, type ModelRegistry } from "../core/registry";
import { resolveDispatcherOptions, type ResolvedDispatcherOptions } from "../core/resolveOptions";
import type { RunResult } from "../core/types";
import { checkId } from "../core/validate";
import { ClaimStore, type Claim, type ClaimedRun, type ClaimPlan, type ClaimShortcuts } from "../store/claims";
import { checkOperator, type OperatorContext } from "../core/operator";
import { runNowAudit } from "./runNowAudit";
import { runKey, type RunKey } from "../store/runSource";
import { ResUsersResolver } from "../store/users";
import { stopRequests } from "../store/workers";
import { DispatcherEvents } from "./events";
import { Executor } from "./executor";
import { Liveness } from "./liveness";
import { LocalQueue } from "./localQueue";
import { ManualRuns } from "./manualRuns";
import { MethodGate } from "./methodGate";
import { OwnClaims } from "./ownClaims";
import { recoveryFor } from "./recovery";
import { SandboxPool } from "./sandbox";
import { Execution } from "./execution";
import { Feeder } from "./feeder";
import { ForegroundClaim } from "./foregroundClaim";
import { Slots } from "./slots";
import { finishOrAbandon, workerAbort } from "./stopGrace";
import { Wakeups } from "./wakeups";

/** Retry delay for due rows that could not be claimed (their concurrency key or queue at its limit). */
const BLOCKED_RETRY_MS = 250;

/**
 * The worker's lifecycle: `stopped` (new, or after `stop()`), `running`
 * (between `start()` and `stop()`), `stopping` (while `stop()` runs:
 * retries give up at once instead of waiting out their budget).
 */
type Phase = "stopped" | "running" | "stopping";

/**
 * The worker: claims due crons and runs them through the {@link Executor}.
 *
 * - `runDue()` runs everything due now and resolves with what it did (tests,
 *   `--burst`, scripts); `runNow(cronId)` and `runJob(jobId)` run one, due or not.
 * - `start()` runs a loop: drain what is due, then sleep until the earliest
 *   `nextcall`, the poll interval, or a wake-up from this process (a job
 *   added, a cron triggered), whichever comes first. `stop()` stops
 *   claiming, lets the running method finish within `gracefulStopMs`, then
 *   aborts its `env.signal`; an unfinished run is rolled back and released.
 * - It registers in `hrp_cron_worker`, heartbeats, and recovers claims of
 *   workers that died. It registers the methods its registry holds at that
 *   time (`start()`, a first `runDue()`), so methods registered after the
 *   dispatcher was made and before it starts are served like the others.
 *
 * ```ts
 * const dispatcher = new Dispatcher(dataSource, registry, { pollIntervalMs: 5000 });
 * await dispatcher.start();
 * process.on("SIGTERM", () => dispatcher.stop());
 * ```
 */
export class Dispatcher {
  /** Unique id of this worker, `host:pid:random`; stored in claims and run logs. */
  readonly workerId = newWorkerId();
  /** Typed events: job start/end/success/retry/failure, batch end, worker start/stop, recovered claims (see `DispatcherEventMap`). */
  readonly events: DispatcherEvents;
  private readonly backend: Backend;
  /** In-process wake-ups, runs in progress and live dispatchers of this DataSource. */
  private readonly local: ProcessLocal;
  private readonly options: ResolvedDispatcherOptions;
  private readonly claims: ClaimStore;
  /** Leaves jobs of methods this worker lacks to workers that serve them (rolling deploys). */
  private readonly gate: MethodGate;
  private readonly executor: Executor;
  /** In this thread or in sandbox threads. */
  private readonly execution: Execution;
  /** The re-check of claims the database gives this worker that it does not hold (see OwnClaims). */
  private readonly own: OwnClaims;
  /** Registration, heartbeat, recovery (of dead workers' claims and of its own), stop requests. */
  private readonly liveness: Liveness;
  private readonly retry: RetryPolicy;
  /** The loop's sleep and wake-ups, and where they said new work is (see Wakeups). */
  private readonly wakeups: Wakeups;
  /** Claimed, not started yet (claimed ahead, or deferred by a batch), and the claims that fill it. */
  private readonly queue: LocalQueue;
  /** Batches in progress (and the suspect's, which runs alone). */
  private readonly slots: Slots;
  /** Claims for free slots and starts batches in them (see Feeder). */
  private readonly feeder: Feeder;
  /** `runDue`, `runNow` and `runJob`. */
  private readonly manual: ManualRuns;
  private phase: Phase = "stopped";
  private loop: Promise<void> | null = null;
  private abandoned = false;
  private unlisten: (() => Promise<void>) | null = null;
  private abort = workerAbort();

  constructor(dataSource: DataSource, registry: ModelRegistry, options: DispatcherOptions = {}) {
    this.backend = backendFor(dataSource);
    this.local = localFor(dataSource);
    checkRegistry(registry);
    this.options = resolveDispatcherOptions(options, this.backend.serialTransactions, new ResUsersResolver());
    const { logger } = this.options;
    this.events = new DispatcherEvents(logger);
    this.claims = new ClaimStore(this.backend, logger);
    this.gate = new MethodGate(this.backend, registry, this.options);
    this.executor = new Executor(
      this.backend,
      this.claims,
      registry,
      this.options,
      this.workerId,
      this.local.runs,
      this.events,
    );
    this.own = new OwnClaims(this.backend, this.claims, this.workerId, logger, () => this.heldKeys());
    this.retry = { ...this.options, stopping: () => this.phase === "stopping" };
    const recovery = recoveryFor(this.backend, this.claims, this.options, this.local.workers, this.executor, {
      events: this.events,
      workerId: this.workerId,
    });
    this.liveness = new Liveness(
      this.backend,
      recovery,
      this.own,
      this.local.workers,
      this.workerId,
      this.options,
      this.retry,
      () => this.gate.methods(),
    );
    const sandbox = this.options.sandbox ? new SandboxPool(this.options.sandbox, this.workerId, logger) : null;
    this.execution = new Execution(this.executor, sandbox, () => this.abort.signal, this.events, this.workerId);
    this.manual = new ManualRuns(
      this.liveness,
      this.own,
      this.execution,
      (total) =>
        this.claimDue(
          this.plans(() => total),
          total,
        ),
      this.options.batchSize,
      () => this.phase === "running",
    );
    const serves = (queue: string) => this.options.queues.includes(queue);
    this.wakeups = new Wakeups(serves, (q) => serves(q) && this.options.queueSet.get(q).maxConcurrency === null);
    this.slots = new Slots(this.options.concurrency, this.options.queueCaps);
    this.queue = new LocalQueue(
      this.options.batchSize,
      this.options.batchMaxMs,
      this.options.concurrency,
      (perQueue, want, keep, shortcuts) =>
        this.own.claiming(() => this.claimDue(this.plans(perQueue), want, shortcuts), keep),
    );
    const running = () => this.phase === "running";
    const overlap = !this.backend.serialTransactions;
    const foreground = new ForegroundClaim(
      this.queue,
      this.wakeups,
      this.execution,
      overlap,
      this.options.now,
      running,
    );
    this.feeder = new Feeder({
      backend: this.backend,
      options: this.options,
      queue: this.queue,
      slots: this.slots,
      foreground,
      execution: this.execution,
      wakeups: this.wakeups,
      running,
    });
  }

  /** True between `start()` and the end of `stop()`. */
  get isRunning(): boolean {
    return this.phase === "running";
  }

  /**
   * Runs every cron and job due now (by the `now` clock), in order
   * `priority, nextcall, id`, including runs that become due meanwhile (a
   * follow-up enqueued due at once), and resolves with one result per run.
   * Crons claimed by other workers are left to them. Stops early if every
   * run of a batch was skipped (the database stayed busy). Jobs that keep
   * making due work keep it going: bound it with `maxRuns`.
   */
  async runDue(options: RunDueOptions = {}): Promise<RunResult[]> {
    return this.manual.runDue(options);
  }

  /**
   * Claims cron `cronId` whether or not it is due and runs it now, in this
   * process (Odoo's "Run Manually"); resolves with the outcome.
   * @throws CurrentlyRunningError when another worker is executing it
   */
  async runNow(cronId: number, operator?: OperatorContext): Promise<RunResult> {
    checkId("cronId", cronId);
    const audit = runNowAudit(this.backend, this.options.now, this.workerId, checkOperator(operator));
    return this.manual.runOne(() => this.claimNow((now) => this.claims.claimOne(this.workerId, cronId, now, audit)));
  }

  /**
   * Like {@link runNow} for job `jobId` (a queue job too, which has no cron):
   * runs it now, due or not, as its stored user; a failure is recorded as any run's.
   * @throws NotFoundError, CurrentlyRunningError, InvalidStateError (not pending: `retryJob` a failed one first)
   */
  async runJob(jobId: number, operator?: OperatorContext): Promise<RunResult> {
    checkId("jobId", jobId);
    const audit = runNowAudit(this.backend, this.options.now, this.workerId, checkOperator(operator));
    return this.manual.runOne(() => this.claimNow((now) => this.claims.claimJobNow(this.workerId, jobId, now, audit)));
  }

  /** Starts the polling loop in the background; resolves once the worker is registered. */
  async start(): Promise<void> {
    if (this.phase === "running") return;
    this.phase = "running";
    this.abort = workerAbort();
    await this.liveness.register();
    await this.liveness.recover();
    // Liveness off the claim path: heartbeat, recovery of dead workers' claims and of its own, stop requests.
    this.liveness.start(() => this.checkStopRequests());
    // Other processes' new work (PostgreSQL NOTIFY); polling remains the backstop.
    this.unlisten = await this.backend.listen((bands) => this.heard(this.options.now(), bands), this.options.logger);
    this.options.logger.info("worker started", { workerId: this.workerId, dialect: this.backend.dialect });
    this.events.emit("worker:start", { workerId: this.workerId });
    this.loop = this.runLoop();
  }

  /**
   * Stops claiming, waits up to `gracefulStopMs` for the run in progress,
   * then aborts its signal and waits for it to unwind (its transaction rolls
   * back and its claim is released). Resolves when the worker is gone.
   */
  async stop(): Promise<void> {
    if (this.phase !== "running") {
      await this.execution.close(); // threads started by runDue()
      return;
    }
    this.phase = "stopping";
    this.requestWake();
    try {
      if (
        (await finishOrAbandon(
          this.loop,
          this.abort,
          this.options.gracefulStopMs,
          this.options.abandonAfterAbortMs,
        )) === "abandoned"
      ) {
        this.options.logger.error(
          "a job method ignored the stop signal; abandoning its run (it cannot commit) so other workers recover it",
          {
            workerId: this.workerId,
          },
        );
        this.abandoned = true;
      }
    } finally {
      this.liveness.stop();
      await this.unlisten?.().catch(() => undefined);
      this.unlisten = null;
      this.loop = null;
      // Whatever this worker still holds without running it (a release that failed during an outage).
      if (!this.abandoned)
        await this.own.releaseAll(this.options.now()).catch((e) =>
          this.options.logger.warn("could not release claims at stop; others will recover them", {
            error: String(e),
          }),
        );
      // An abandoned run may still hold SQLite's write lock: do not wait for it forever.
      const unregistered = this.liveness.unregister();
      if (this.abandoned)
        await Promise.race([unregistered, new Promise((r) => setTimeout(r, this.options.abandonAfterAbortMs).unref())]);
      else await unregistered;
      await this.execution.close();
      this.phase = "stopped"; // a later runDue() retries as usual
      this.options.logger.info("worker stopped", { workerId: this.workerId });
      this.events.emit("worker:stop", { workerId: this.workerId });
    }
  }

  private async runLoop(): Promise<void> {
    const unsubscribe = this.local.wakeups.subscribe((at, bands) => this.heard(at, bands));
    let errors = 0;
    try {
      while (this.phase === "running") {
        let delayMs = this.options.pollIntervalMs;
        this.wakeups.rearm();
        try {
          const idleUntil = await this.feeder.fill();
          if (idleUntil !== null) delayMs = Math.min(delayMs, this.msUntil(idleUntil));
          errors = 0;
        } catch (error) {
          errors++;
          delayMs = Math.min(this.options.pollIntervalMs, 100 * 2 ** Math.min(errors, 8));
          this.options.logger.error("dispatcher loop error; retrying", { error: String(error), retryInMs: delayMs });
        }
        if (this.phase === "running") await this.wakeups.sleep(delayMs);
      }
      await this.slots.settled();
      await this.queue.settled();
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
      queue,
      max: perQueueMax(queue),
      maxConcurrency: this.options.queueSet.get(queue).maxConcurrency,
    }));
  }

  /**
   * One claim of due runs (retried while the database is away; rows of
   * methods this worker lacks handed back: see MethodGate). `shortcuts`: see
   * `ClaimStore.claimDue`.
   */
  private claimDue(plans: readonly ClaimPlan[], total: number, shortcuts?: ClaimShortcuts): Promise<Claim> {
    return this.gate.claim(() =>
      withTransientRetry(this.backend, this.retry, () =>
        this.claims.claimDue(this.workerId, this.options.now(), plans, total, this.gate, shortcuts),
      ),
    );
  }

  /** A manual run's claim at the clock's time now, retried while the database is away. */
  private claimNow(claim: (now: Date) => Promise<ClaimedRun>): Promise<ClaimedRun> {
    const now = this.options.now();
    return withTransientRetry(this.backend, this.retry, () => claim(now));
  }

  /** Hands claimed-but-unstarted runs back (stopping). */
  private async releaseBuffered(): Promise<void> {
    for (const { cron } of this.queue.drain()) {
      await this.backend
        .transaction((m) => this.claims.release(m, cron, this.workerId))
        .catch((error: unknown) =>
          this.options.logger.warn("could not release a claim; recovery will", {
            cronId: cron.id,
            error: String(error),
          }),
        );
    }
  }

  /** Aborts runs an operator asked to stop (`JobQueue.stopJob`); checked with each heartbeat. */
  private async checkStopRequests(): Promise<void> {
    if (this.execution.runningKeys().length === 0 && this.slots.busy === 0) return;
    for (const row of await stopRequests(this.backend, this.workerId)) this.execution.requestStop(row.key, row.jobId);
  }

  /** Runs this worker holds in memory: claimed ahead, in a batch, in a manual run. */
  private *heldKeys(): Iterable<RunKey> {
    for (const run of this.queue.runs()) yield runKey(run.cron);
    for (const run of this.slots.runs()) yield runKey(run.cron);
    yield* this.manual.heldKeys();
    yield* this.execution.runningKeys();
  }

  /** Wakes the loop; remembered if it arrives while draining, so it is never lost. */
  private requestWake(): void {
    this.wakeups.wake();
  }

  /** New work due at `at` in `bands` (null: anywhere), from this process or (NOTIFY) another. */
  private heard(at: Date, bands: readonly WorkBand[] | null): void {
    this.wakeups.heard(at, bands, this.options.now());
  }
}
