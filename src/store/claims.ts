import type { EntityManager } from "typeorm";
import { hydrate, type Backend } from "../backend";
import { CurrentlyRunningError, NotFoundError } from "../core/errors";
import type { Logger } from "../core/types";
import { IrCron } from "../schema/entities/IrCron";
import {
  candidates,
  claimBand,
  claimLimited,
  dueBands,
  type ClaimedRow,
  type ClaimPlan,
  type DueBand,
} from "./dueBands";
import { jobBackToPending, markJobsRunning, releaseFinished, requireRunnable } from "./jobState";
import { insertRunLogs } from "./runLog";

export type { ClaimedRow, ClaimPlan, DueBand } from "./dueBands";

/**
 * A claimed cron as the claim read it: the row, and the callbacks of its
 * job (null: none, or no job), read when the claim marked the job running.
 * What the claim produced travels with the cron — to batches, to sandbox
 * threads — so nobody has to look it up again.
 */
export interface ClaimedRun {
  readonly cron: IrCron;
  /** The job's registered `onSuccess` (`model.method`), or null. */
  readonly onSuccess: string | null;
  /** The job's registered `onFailure` (`model.method`), or null. */
  readonly onFailure: string | null;
}

/** What a claim took, and when the earliest ready row of its queues was due before it (null: none). */
export interface Claim {
  readonly runs: ClaimedRun[];
  readonly nextDue: Date | null;
  /** Rows claimed and handed back at once by the claim's {@link ClaimFilter}. */
  readonly leftOut?: number;
}

/** Ways to shorten a claim's path (latency); both optional. */
export interface ClaimShortcuts {
  /**
   * The bands that hold the new work, as wake-ups named them, asked once the
   * claim's transaction has begun (so wake-ups of work committed while it
   * waited for its turn count): claimed without the statement that looks
   * for due bands (`dueBands`), and no keyed rows (the claim's `nextDue` is
   * then null: unknown). Null: look for due bands. Only for a caller that
   * knows nothing else is due.
   */
  readonly bands?: () => readonly DueBand[] | null;
  /**
   * Told the users of the rows as soon as the claim statements have taken
   * them, inside the claim's transaction, before the rest of its statements
   * and its COMMIT: the dispatcher opens the batch's transaction and looks
   * the users up meanwhile. Nothing may run before `claimDue` returns (the
   * claim is committed only then); the rows may still be handed back or
   * released.
   */
  readonly onClaimed?: (userIds: number[]) => void;
}

/** Decides, inside the claim's transaction, which claimed rows this worker runs (rolling deploys: `MethodGate`). */
export interface ClaimFilter {
  /** `model.method` names not to claim at all now. */
  skipMethods(): readonly string[];
  /** The rows to run; the others are handed back in `m` before it returns. */
  keep(m: EntityManager, rows: readonly ClaimedRow[]): Promise<ClaimedRow[]>;
}

/**
 * Claims: the SQL that decides who runs what. A claim is
 * `ir_cron.running_worker`, written atomically for a batch of due crons
 * (the backend adds `FOR UPDATE SKIP LOCKED` on PostgreSQL; on SQLite the
 * write transaction is exclusive), together with the claimed jobs' move to
 * `running` (see `jobState.ts`). Liveness uses wall-clock time, not the
 * injected schedule clock.
 */
export class ClaimStore {
  constructor(
    private readonly backend: Backend,
    private readonly logger: Logger,
  ) {}

  /**
   * Claims due crons (`active AND numbercall != 0 AND nextcall <= now`,
   * unclaimed), queue by queue in the order of `plans`, each in run order
   * `priority, nextcall, id`, at most `plan.max` per queue and `total` in
   * all; marks their jobs running. Concurrency limits hold across all
   * workers: a queue's `maxConcurrency` and each row's
   * `concurrency_key`/`concurrency_limit` count every claimed row in the
   * database, and such claims are serialised by `lockForLimits`.
   *
   * Cost does not grow with the rows that are not due (see `dueBands.ts`):
   * future-dated and low-priority rows are never walked.
   *
   * With a `filter` (rolling deploys, see `MethodGate`), rows of its
   * `skipMethods` are not claimed, and the rows it does not `keep` are handed
   * back in the same transaction, before their jobs are marked running.
   *
   * `shortcuts` (latency, see {@link ClaimShortcuts}) may skip the search for
   * due bands and tell the caller the claimed rows' users before the commit.
   */
  async claimDue(
    workerId: string,
    now: Date,
    plans: readonly ClaimPlan[],
    total: number,
    filter?: ClaimFilter,
    shortcuts: ClaimShortcuts = {},
  ): Promise<Claim> {
    const skip = filter?.skipMethods() ?? [];
    const { onClaimed } = shortcuts;
    return this.backend.transaction(async (m) => {
      const claimed: ClaimedRow[] = [];
      let locked = false;
      const active = plans.filter((p) => p.max > 0);
      if (active.length === 0 || total <= 0) return { runs: [], nextDue: null };
      const named = shortcuts.bands?.() ?? null;
      const { bands, keyed, nextDue } = named
        ? { bands: [...named].sort((a, b) => a.priority - b.priority), keyed: false, nextDue: null }
        : await dueBands(
            this.backend,
            m,
            active.map((p) => p.queue),
            now,
          );
      for (const plan of active) {
        let taken = 0;
        const room = () => Math.min(plan.max - taken, total - claimed.length);
        const queueBands = bands.filter((b) => b.queue === plan.queue);
        if (room() <= 0 || queueBands.length === 0) continue;
        if (plan.maxConcurrency === null) {
          for (const band of queueBands) {
            if (room() <= 0) break;
            const rows = await claimBand(this.backend, m, workerId, now, plan.queue, band.priority, room(), skip);
            claimed.push(...rows);
            taken += rows.length;
          }
        }
        // Rows with a concurrency key (and every row of a limited queue) go through the locked path.
        if (room() <= 0 || (!keyed && plan.maxConcurrency === null)) continue;
        const keyedOnly = plan.maxConcurrency === null;
        if ((await candidates(this.backend, m, now, plan.queue, 1, keyedOnly, skip)).length === 0) continue;
        if (!locked) {
          await this.backend.lockForLimits(m);
          locked = true;
        }
        const rows = await claimLimited(this.backend, m, workerId, now, plan, room(), keyedOnly, skip);
        claimed.push(...rows);
        taken += rows.length;
      }
      if (claimed.length > 0) onClaimed?.([...new Set(claimed.map((row) => Number(row.user_id)))]);
      const kept = filter && claimed.length > 0 ? await filter.keep(m, claimed) : claimed;
      const leftOut = claimed.length - kept.length;
      if (kept.length === 0) return { runs: [], nextDue, leftOut };
      const preference = new Map(plans.map((p, i) => [p.queue, i]));
      const runs = await this.loadClaimed(m, workerId, kept, now);
      // Queue preference first, then run order within the queue.
      return {
        runs: runs.sort((a, b) => (preference.get(a.cron.queue) ?? 0) - (preference.get(b.cron.queue) ?? 0)),
        nextDue,
        leftOut,
      };
    });
  }

  /**
   * Claims one cron whatever its schedule (a manual run).
   * @throws CurrentlyRunningError when another worker holds it
   * @throws InvalidStateError when it is the cron of a job that is not pending
   */
  async claimOne(workerId: string, cronId: number, now: Date): Promise<ClaimedRun> {
    return this.backend.transaction(async (m) => {
      const rows = await this.backend.query<ClaimedRow>(
        m,
        `UPDATE ir_cron SET running_worker = ?, running_since = ? WHERE id = ? AND running_worker IS NULL RETURNING *`,
        [workerId, this.backend.toDbDate(new Date()), cronId],
      );
      if (rows.length === 0) {
        const cron = await m.findOneBy(IrCron, { id: cronId });
        if (!cron) throw new NotFoundError("ir_cron", cronId);
        throw new CurrentlyRunningError(cronId, cron.runningWorker);
      }
      const [run] = await this.loadClaimed(m, workerId, rows, now);
      // The job was done, failed, cancelled or stopped: an operator's decision, final (the claim rolls back).
      if (!run) await requireRunnable(this.backend, m, cronId);
      return run;
    });
  }

  /**
   * Releases a claim without recording a run (the run could not start, e.g.
   * the database stayed busy); the cron stays due and its job pending again.
   * Compare-and-set on the holder: returns false (nothing written) when
   * `workerId` no longer held it.
   */
  async release(manager: EntityManager, cron: IrCron, workerId: string): Promise<boolean> {
    const n = await this.backend.execute(
      manager,
      `UPDATE ir_cron SET running_worker = NULL, running_since = NULL, suspect_started = FALSE WHERE id = ? AND running_worker = ?`,
      [cron.id, workerId],
    );
    if (n > 0 && cron.hrpCronJobId !== null) await jobBackToPending(this.backend, manager, cron.hrpCronJobId);
    return n > 0;
  }

  /**
   * Releases a claim `workerId` holds but whose run never started (or whose
   * start is unknown: it never committed), logging it `interrupted` with
   * `note` from the claim to `auditNow`. False when the claim was lost.
   */
  async releaseUnrun(
    m: EntityManager,
    cronId: number,
    workerId: string,
    auditNow: Date,
    note: string,
  ): Promise<boolean> {
    const cron = await m.findOneBy(IrCron, { id: cronId });
    if (!cron || !(await this.release(m, cron, workerId))) return false;
    await insertRunLogs(this.backend, m, workerId, [
      {
        cron,
        start: cron.runningSince ?? auditNow,
        end: auditNow,
        calls: 0,
        state: "interrupted",
        durationMs: null,
        error: note,
      },
    ]);
    return true;
  }

  /**
   * Claimed rows as runs: entities, their jobs marked running, with the
   * jobs' callbacks. A claimed cron whose job is not pending (done, failed,
   * cancelled or stopped: final) is not returned: its claim is released and
   * the cron deactivated, in the claim's transaction.
   */
  private async loadClaimed(
    m: EntityManager,
    workerId: string,
    rows: readonly ClaimedRow[],
    now: Date,
  ): Promise<ClaimedRun[]> {
    const all = hydrate(m, IrCron, rows);
    const jobIds = all.flatMap((c) => (c.hrpCronJobId === null ? [] : [c.hrpCronJobId]));
    const callbacks =
      jobIds.length > 0 ? await markJobsRunning(this.backend, m, jobIds, now, workerId) : new Map<number, never>();
    const crons = all.filter((c) => c.hrpCronJobId === null || callbacks.has(c.hrpCronJobId));
    if (crons.length < all.length) {
      const finished = all.filter((c) => !crons.includes(c));
      await releaseFinished(this.backend, m, finished);
      this.logger.warn("crons of jobs that are no longer pending were due; deactivated instead of run", {
        cronIds: finished.map((c) => c.id),
      });
    }
    return crons
      .sort((a, b) => a.priority - b.priority || a.nextcall.getTime() - b.nextcall.getTime() || a.id - b.id)
      .map((cron) => ({
        cron,
        ...(cron.hrpCronJobId === null ? { onSuccess: null, onFailure: null } : callbacks.get(cron.hrpCronJobId)!),
      }));
  }
}
