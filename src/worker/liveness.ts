import type { Backend } from "../backend";
import type { ClaimStore } from "../store/claims";
import type { ResolvedDispatcherOptions } from "../core/resolveOptions";
import type { OwnClaims } from "./ownClaims";
import { withTransientRetry, type RetryPolicy } from "../backend/retry";

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
    private readonly claims: ClaimStore,
    private readonly own: OwnClaims,
    private readonly workerId: string,
    private readonly options: ResolvedDispatcherOptions,
    private readonly retry: RetryPolicy,
    /** The `model.method`s this worker serves, registered with it (rolling deploys: see MethodGate). */
    private readonly methods: readonly string[],
  ) {}

  get registered(): boolean {
    return this.isRegistered;
  }

  async register(): Promise<void> {
    await withTransientRetry(this.backend, this.retry, () => this.claims.registerWorker(this.workerId, this.methods));
    this.isRegistered = true;
  }

  async unregister(): Promise<void> {
    if (!this.isRegistered) return;
    this.isRegistered = false;
    try {
      await withTransientRetry(this.backend, this.retry, () => this.claims.unregisterWorker(this.workerId));
    } catch (error) {
      this.options.logger.warn("could not unregister worker; others will clean it up", { error: String(error) });
    }
  }

  /** Releases claims of dead workers now (at start and before `runDue`; later on the heartbeat tick). */
  async recover(): Promise<void> {
    this.lastRecovery = Date.now();
    await withTransientRetry(this.backend, this.retry, () => this.claims.recoverStale(this.options.workerTimeoutMs, this.options.now()));
  }

  /** Starts the heartbeat timer; `checkStopRequests` runs on each tick. */
  start(checkStopRequests: () => Promise<void>): void {
    this.stop();
    this.timer = setInterval(() => {
      const recover = Date.now() - this.lastRecovery >= this.options.recoveryIntervalMs;
      if (recover) this.lastRecovery = Date.now();
      const auditNow = this.options.now();
      // Recovery also re-checks this worker's own claims: those it holds without running them are released.
      this.claims.heartbeat(this.workerId, recover ? { workerTimeoutMs: this.options.workerTimeoutMs, auditNow } : undefined)
        .then((holders) => (recover ? this.own.recheck(holders, auditNow) : 0))
        .catch((e) => this.options.logger.warn("heartbeat or recovery failed", { error: String(e) }));
      checkStopRequests().catch((e) => this.options.logger.warn("stop-request check failed", { error: String(e) }));
    }, this.options.heartbeatIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
