import { AsyncResource } from "node:async_hooks";
import type { Backend } from "../backend";
import { checkProgress } from "../core/progress";
import type { ResolvedDispatcherOptions } from "../core/resolveOptions";
import { writeProgress, type ProgressRow } from "../store/progress";
import type { DispatcherEvents } from "./events";

/** One job's progress between writes. */
interface Pending {
  latest: ProgressRow | null;
  lastWriteAt: number;
  timer: NodeJS.Timeout | null;
  /** The write in flight, so writes of one job never overtake each other. */
  writing: Promise<void>;
}

/**
 * Writes jobs' progress (`env.progress`) in transactions of its own,
 * outside the jobs' (so it is visible while they run and survives their
 * rollback), at most one write per `progressIntervalMs` per job: calls in
 * between keep only the latest value, written when its time comes or when
 * the run ends ({@link finish}). A write that fails is logged, never thrown
 * at the job. One per executor; the state of each job lives here until its
 * run ends.
 */
export class ProgressWriter {
  private readonly jobs = new Map<number, Pending>();
  /** The last writes of runs that ended, until their batch has waited for them ({@link settled}). */
  private readonly finishing = new Map<number, Promise<void>>();
  /**
   * The async context this writer was made in (no job's): its writes run
   * there, not in the reporting job's context, whose transaction (ambient
   * manager, SQLite's connection scope) they must never join.
   */
  private readonly outside = new AsyncResource("hrp-cron:progress");

  constructor(
    private readonly backend: Backend,
    private readonly options: ResolvedDispatcherOptions,
    private readonly events: DispatcherEvents,
    private readonly workerId: string,
  ) {}

  /** The `env.progress` of a run of cron `cronId` (job `jobId`, or null for a recurring cron). */
  reporter(cronId: number, jobId: number | null): (done: number, total?: number, message?: string) => void {
    return (done, total, message) => {
      const row = { ...checkProgress(done, total, message), at: this.options.now() };
      if (this.events.heard("job:progress"))
        this.events.emit("job:progress", { workerId: this.workerId, cronId, jobId, ...row });
      if (jobId !== null) this.report(jobId, row);
    };
  }

  /**
   * Writes job `jobId`'s last unwritten progress, and forgets the job. Not
   * awaited by the run (on SQLite the write waits for the run's batch
   * transaction): its batch waits for it with {@link settled}. Never throws.
   */
  finish(jobId: number | null): void {
    if (jobId === null) return;
    const pending = this.jobs.get(jobId);
    if (!pending) return;
    this.jobs.delete(jobId);
    if (pending.timer) clearTimeout(pending.timer);
    const latest = pending.latest;
    this.finishing.set(
      jobId,
      pending.writing.then(() => (latest ? this.write(jobId, latest) : undefined)),
    );
  }

  /** Resolves once the last progress of the runs of jobs `jobIds` that ended is written (after their batch committed). */
  async settled(jobIds: ReadonlyArray<number | null>): Promise<void> {
    for (const jobId of jobIds) {
      if (jobId === null) continue;
      const writing = this.finishing.get(jobId);
      if (!writing) continue;
      this.finishing.delete(jobId);
      await writing;
    }
  }

  private report(jobId: number, row: ProgressRow): void {
    let pending = this.jobs.get(jobId);
    if (!pending) {
      pending = { latest: null, lastWriteAt: -Infinity, timer: null, writing: Promise.resolve() };
      this.jobs.set(jobId, pending);
    }
    pending.latest = row;
    if (pending.timer) return; // a write is already planned: it takes the latest value
    const waitMs = pending.lastWriteAt + this.options.progressIntervalMs - Date.now();
    const flush = () => {
      const p = this.jobs.get(jobId);
      if (!p || !p.latest) return;
      p.timer = null;
      const latest = p.latest;
      p.latest = null;
      p.lastWriteAt = Date.now();
      p.writing = p.writing.then(() => this.write(jobId, latest));
    };
    if (waitMs <= 0) flush();
    else pending.timer = setTimeout(flush, waitMs).unref();
  }

  private async write(jobId: number, row: ProgressRow): Promise<void> {
    try {
      await this.outside.runInAsyncScope(() =>
        this.backend.transaction((m) => writeProgress(this.backend, m, jobId, row)),
      );
    } catch (error) {
      this.options.logger.warn("a job's progress could not be written; the job goes on", {
        jobId,
        error: String(error),
      });
    }
  }
}
