import type { Backend } from "../backend";
import type { LiveWorkers } from "../backend/processLocal";
import { withTransientRetry, type RetryPolicy } from "../backend/retry";
import type { ResolvedDispatcherOptions } from "../core/resolveOptions";
import { claimHolders, registerWorker, touchWorker, unregisterWorker } from "../store/workers";
import type { OwnClaims } from "./ownClaims";
import type { Recovery } from "./recovery";

/**
 * A dispatcher's liveness, off the claim path: its registration in
 * `hrp_cron_worker`, the heartbeat timer (`heartbeatIntervalMs`) and, every
 * `recoveryIntervalMs` on that tick, the recovery of dead workers' claims
 * followed by the re-check of its own ({@link OwnClaims}), plus the check
 * for operators' stop requests.
 */
export class Liveness {
  private timer: NodeJS.Timeout | null = null;
  private lastRecovery = 0;
  private isRegistered = false;

  constructor(
    private readonly backend: Backend,
    private readonly recovery: Recovery,
    private readonly own: OwnClaims,
    /** This DataSource's dispatchers alive in this process: registered ones are listed there. */
    private readonly liveWorkers: LiveWorkers,
    private readonly workerId: string,
    private readonly options: ResolvedDispatcherOptions,
    private readonly retry: RetryPolicy,
    /**
     * The `model.method`s this worker serves, registered with it (rolling deploys: see MethodGate): read
     * when it registers, so methods added to the registry after the dispatcher was made (a framework
     * registering what it discovered) are served too.
     */
    private readonly methods: () => readonly string[],
  ) {}

  get registered(): boolean {
    return this.isRegistered;
  }

  async register(): Promise<void> {
    this.liveWorkers.add(this.workerId);
    await withTransientRetry(this.backend, this.retry, () =>
      registerWorker(this.backend, this.workerId, this.methods()),
    );
    this.isRegistered = true;
  }

  async unregister(): Promise<void> {
    if (!this.isRegistered) return;
    this.isRegistered = false;
    this.liveWorkers.delete(this.workerId);
    try {
      await withTransientRetry(this.backend, this.retry, () => unregisterWorker(this.backend, this.workerId));
    } catch (error) {
      this.options.logger.warn("could not unregister worker; others will clean it up", { error: String(error) });
    }
  }

  /** Releases claims of dead workers now (at start and before `runDue`; later on the heartbeat tick). */
  async recover(): Promise<void> {
    this.lastRecovery = Date.now();
    await withTransientRetry(this.backend, this.retry, () =>
      this.recovery.recoverStale(this.options.workerTimeoutMs, this.options.now()),
    );
  }

  /** Starts the heartbeat timer; `checkStopRequests` runs on each tick. */
  start(checkStopRequests: () => Promise<void>): void {
    this.stop();
    this.timer = setInterval(() => {
      const recover = Date.now() - this.lastRecovery >= this.options.recoveryIntervalMs;
      if (recover) this.lastRecovery = Date.now();
      // Recovery also re-checks this worker's own claims: those it holds without running them are released.
      this.heartbeat(recover).catch((e) =>
        this.options.logger.warn("heartbeat or recovery failed", { error: String(e) }),
      );
      checkStopRequests().catch((e) => this.options.logger.warn("stop-request check failed", { error: String(e) }));
    }, this.options.heartbeatIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * Refreshes `last_seen_at` (re-registering a worker that was presumed
   * dead and removed); with `recover`, also lists every claim in the same
   * transaction (an idle worker costs as few round trips as possible),
   * releases dead workers' claims, then re-checks its own.
   */
  private async heartbeat(recover: boolean): Promise<void> {
    const auditNow = this.options.now();
    const { alive, holders } = await this.backend.transaction(async (m) => ({
      alive: await touchWorker(this.backend, m, this.workerId),
      holders: recover ? await claimHolders(this.backend, m) : [],
    }));
    if (!alive && this.liveWorkers.has(this.workerId))
      await registerWorker(this.backend, this.workerId, this.methods());
    if (!recover) return;
    await this.recovery.releaseDead(holders, this.options.workerTimeoutMs, auditNow);
    await this.own.recheck(holders, auditNow);
  }
}
