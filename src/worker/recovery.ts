import type { Backend } from "../backend";
import type { LiveWorkers } from "../backend/processLocal";
import { HOST, pidAlive } from "../core/host";
import type { Logger } from "../core/types";
import type { ClaimStore } from "../store/claims";
import { CrashRecords, type Recovered } from "../store/crashes";
import type { ResolvedDispatcherOptions } from "../core/resolveOptions";
import type { DispatcherEvents } from "./events";
import type { Executor } from "./executor";
import { resultBase } from "./runResult";
import { claimHolders, type ClaimHolder } from "../store/workers";

/** A recovery that failed a cron at its crash limit (see `CrashRecords`). */
export type FailedRecovery = Extract<Recovered, { kind: "failed" }>;

/**
 * Recovery of claims held by dead workers — worker row gone, process gone
 * from this host, or no heartbeat for `workerTimeoutMs` — so the cron runs
 * again (its interrupted run was never committed), each logged in the run
 * log as `interrupted`; a cron whose lone runs killed their worker too
 * often is failed instead (see `CrashRecords`), and its `onFailure` runs
 * after that commit. Liveness uses wall-clock time.
 */
export class Recovery {
  constructor(
    private readonly backend: Backend,
    private readonly claims: ClaimStore,
    private readonly crashes: CrashRecords,
    /** This DataSource's dispatchers alive in this process. */
    private readonly liveWorkers: LiveWorkers,
    private readonly logger: Logger,
    /** The follow-up of a failed recovery (the job's `onFailure`), after its transaction committed. */
    private readonly onFailed: (failed: FailedRecovery) => Promise<void>,
    /** Told how many claims a pass recovered (released, and failed at their crash limit), when any. */
    private readonly onRecovered: (counts: { released: number; failed: number }) => void = () => undefined,
  ) {}

  /** Lists every claim and recovers those of dead workers; returns how many. */
  async recoverStale(workerTimeoutMs: number, auditNow: Date): Promise<number> {
    return this.releaseDead(
      await this.backend.transaction((m) => claimHolders(this.backend, m)),
      workerTimeoutMs,
      auditNow,
    );
  }

  /** Recovers the claims among `rows` whose worker is dead; returns how many. */
  async releaseDead(rows: readonly ClaimHolder[], workerTimeoutMs: number, auditNow: Date): Promise<number> {
    let released = 0;
    let failed = 0;
    for (const row of rows) {
      const reason = this.deadReason(row, workerTimeoutMs);
      if (!reason) continue;
      const outcome = await this.crashes.recoverClaim(
        row.key,
        row.running_worker,
        reason,
        auditNow,
        attributable(row, rows),
        (m, cron) => this.claims.release(m, cron, row.running_worker),
      );
      if (outcome.kind === "failed") {
        await this.onFailed(outcome).catch((error: unknown) =>
          this.logger.error("onFailure callback failed", {
            cronId: outcome.cron.id,
            jobId: outcome.cron.hrpCronJobId,
            error: String(error),
          }),
        );
      }
      if (outcome.kind !== "gone") {
        if (outcome.kind === "failed") failed++;
        else released++;
        this.logger.warn("recovered a cron claimed by a dead worker", {
          run: row.key,
          worker: row.running_worker,
          reason,
        });
      }
    }
    if (released + failed > 0) this.onRecovered({ released, failed });
    return released + failed;
  }

  /** Why `row`'s worker is presumed dead, or null when it is alive. */
  private deadReason(row: ClaimHolder, workerTimeoutMs: number): string | null {
    if (row.hostname === null || row.hostname === undefined) return "is not registered";
    if (row.hostname === HOST) {
      const pid = Number(row.pid);
      if (pid === process.pid) {
        // A dispatcher of another DataSource of this process is judged by its heartbeat below.
        const state = this.liveWorkers.state(row.running_worker);
        if (state === "live") return null;
        if (state === "stopped") return "was stopped";
      } else if (!pidAlive(pid)) return `(pid ${pid}) is gone`;
    }
    const seen = this.backend.fromDbDate(row.last_seen_at);
    if (seen && Date.now() - seen.getTime() > workerTimeoutMs)
      return `stopped heartbeating ${Math.round((Date.now() - seen.getTime()) / 1000)} s ago`;
    return null;
  }
}

/**
 * Whether the death of `row`'s worker can be pinned on its own runs: the
 * process is known (registered) and no other dispatcher of it held claims,
 * whose runs might have killed it.
 */
function attributable(row: ClaimHolder, all: readonly ClaimHolder[]): boolean {
  if (row.hostname === null || row.hostname === undefined) return false;
  return !all.some(
    (r) => r.running_worker !== row.running_worker && r.hostname === row.hostname && Number(r.pid) === Number(row.pid),
  );
}

/**
 * The dispatcher's {@link Recovery}: a job failed at its crash limit is told
 * as `job:failure` (no `job:end`: its run's end died with its worker) and
 * gets its `onFailure` through the executor; each pass that recovered
 * claims is told as `claims:recovered`.
 */
export function recoveryFor(
  backend: Backend,
  claims: ClaimStore,
  options: ResolvedDispatcherOptions,
  liveWorkers: LiveWorkers,
  executor: Executor,
  tell: { readonly events: DispatcherEvents; readonly workerId: string },
): Recovery {
  const { events, workerId } = tell;
  return new Recovery(
    backend,
    claims,
    new CrashRecords(backend, options),
    liveWorkers,
    options.logger,
    (failed) => {
      const { cron, error } = failed;
      const result = { ...resultBase(cron), outcome: "failed" as const, calls: 0, error };
      events.emit("job:failure", { ...result, workerId, queue: cron.queue, durationMs: 0 });
      return executor.failedByRecovery(failed, failed.start, failed.error);
    },
    ({ released, failed }) =>
      events.emit("claims:recovered", { workerId, recovered: released + failed, released, failed }),
  );
}
