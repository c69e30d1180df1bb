import type { EntityManager } from "typeorm";
import { hydrate, type Backend } from "../backend";
import { CurrentlyRunningError, InvalidStateError, NotFoundError } from "../core/errors";
import type { Logger } from "../core/types";
import { HrpCronJob } from "../schema/entities/HrpCronJob";
import { IrCron } from "../schema/entities/IrCron";
import {
  candidates,
  claimBand,
  claimJob,
  claimLimited,
  dueBands,
  sourceOfRow,
  splitBand,
  type ClaimedRow,
  type ClaimPlan,
  type DueBand,
} from "./dueBands";
import { requireRunnable } from "./jobState";
import { insertRunLogs } from "./runLog";
import { findRun, jobRowsAsCrons, rowIdOf, sourceOf, tableOf, type RunKey } from "./runSource";

export type { ClaimedRow, ClaimPlan, DueBand } from "./dueBands";

/**
 * A claimed run as the claim read it: the row (a recurring cron, or a
 * one-shot job read as a cron: see `runSource.ts`), and the callbacks of its
 * job (null: none, or no job). What the claim produced travels with the run
 * — to batches, to sandbox threads — so nobody has to look it up again.
 */
export interface ClaimedRun {
  readonly cron: IrCron;
  /** The job's registered `onSuccess` (`model.method`), or null. */
  readonly onSuccess: string | null;
  /** The job's registered `onFailure` (`model.method`), or null. */
  readonly onFailure: string | null;
  /** The job's stored trace context (`hrp_cron_job.trace_context`: see `JobTracing`), or null. */
  readonly traceContext: string | null;
  /** The job's run this is (its `attempts` + 1: 1 for the first); null for a recurring cron. */
  readonly attempt: number | null;
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
   * waited for its turn count) — or, where a claim of one band is one
   * statement that commits on its own (`Backend.singleStatementClaims`),
   * just before it: claimed without the statement that looks for due bands
   * (`dueBands`), and no keyed rows (the claim's `nextDue` is then null:
   * unknown). Null: look for due bands. Only for a caller that knows
   * nothing else is due.
   */
  readonly bands?: () => readonly DueBand[] | null;
  /**
   * Told the users of the rows as soon as the claim statements have taken
   * them, inside the claim's transaction, before the rest of its statements
   * and its COMMIT (a single-statement claim: once it has committed): the
   * dispatcher opens the batch's transaction and looks the users up
   * meanwhile. Nothing may run before `claimDue` returns (the claim is
   * committed only then); the rows may still be handed back or released.
   */
  readonly onClaimed?: (userIds: number[]) => void;
}

/** Told a manual claim (`claimOne`, `claimJobNow`) inside its transaction: the operator action log's row of a run-now. */
export type OnClaimed = (m: EntityManager, run: ClaimedRun) => Promise<void>;

/** Decides, inside the claim's transaction, which claimed rows this worker runs (rolling deploys: `MethodGate`). */
export interface ClaimFilter {
  /** `model.method` names not to claim at all now. */
  skipMethods(): readonly string[];
  /** The rows to run; the others are handed back in `m` before it returns. */
  keep(m: EntityManager, rows: readonly ClaimedRow[]): Promise<ClaimedRow[]>;
  /** True when {@link keep} would keep all of `rows` without a statement (it need not be called). */
  keepsAll(rows: readonly ClaimedRow[]): boolean;
}

/**
 * Claims: the SQL that decides who runs what. A claim is `running_worker`,
 * written atomically for a batch of due rows (the backend adds `FOR UPDATE
 * SKIP LOCKED` on PostgreSQL; on SQLite the write transaction is
 * exclusive): on `ir_cron` for recurring crons, on the job row itself for
 * one-shot jobs, which the same write moves `pending` → `running` (one row
 * version). Liveness uses wall-clock time, not the injected schedule clock.
 */
export class ClaimStore {
  constructor(
    private readonly backend: Backend,
    private readonly logger: Logger,
  ) {}

  /**
   * Claims due runs (recurring crons `active AND numbercall != 0 AND
   * nextcall <= now`, pending jobs `nextcall <= now`, unclaimed), queue by
   * queue in the order of `plans`, each in run order `priority, nextcall,
   * id`, at most `plan.max` per queue and `total` in all; jobs become
   * `running` in the same write. Concurrency limits hold across all
   * workers: a queue's `maxConcurrency` and each row's
   * `concurrency_key`/`concurrency_limit` count every claimed row in the
   * database, and such claims are serialised by `lockForLimits`.
   *
   * Cost does not grow with the rows that are not due (see `dueBands.ts`):
   * future-dated and low-priority rows are never walked.
   *
   * With a `filter` (rolling deploys, see `MethodGate`), rows of its
   * `skipMethods` are not claimed, and the rows it does not `keep` are handed
   * back in the same transaction (a job `pending` again, no attempt counted).
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
    const active = plans.filter((p) => p.max > 0);
    if (active.length === 0 || total <= 0) return { runs: [], nextDue: null };
    // Where one statement claims, it commits on its own (see Backend.singleStatementClaims): no BEGIN, no COMMIT.
    const early = this.backend.singleStatementClaims ? (shortcuts.bands?.() ?? null) : undefined;
    const alone = early?.length === 1 ? early[0] : null;
    const plan = alone && active.find((p) => p.queue === alone.queue && p.maxConcurrency === null);
    if (alone && plan)
      return this.claimNamedBand(workerId, now, alone, Math.min(plan.max, total), skip, filter, onClaimed);
    return this.backend.transaction(async (m) => {
      const claimed: ClaimedRow[] = [];
      let locked = false;
      const named = early === undefined ? (shortcuts.bands?.() ?? null) : early;
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
          for (const priority of [...new Set(queueBands.map((b) => b.priority))]) {
            if (room() <= 0) break;
            const here = queueBands.filter((b) => b.priority === priority);
            // A band held by both sources (rare: crons and jobs at one priority) is taken in run order across both.
            const split =
              here.length > 1 ? await splitBand(this.backend, m, plan.queue, priority, now, room(), skip) : null;
            for (const band of here) {
              const limit = Math.min(room(), split ? split[band.source] : room());
              if (limit <= 0) continue;
              const rows = await claimBand(this.backend, m, band, workerId, now, limit, skip);
              claimed.push(...rows);
              taken += rows.length;
            }
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
      const runs = await this.loadClaimed(m, kept);
      // Queue preference first, then run order within the queue.
      return {
        runs: runs.sort((a, b) => (preference.get(a.cron.queue) ?? 0) - (preference.get(b.cron.queue) ?? 0)),
        nextDue,
        leftOut,
      };
    });
  }

  /**
   * The claim of one named band as one statement that commits on its own
   * (the latency path of an idle worker, see `claimDue`): its rows are
   * claimed and committed when it returns. Rows the `filter` does not keep
   * are handed back in a transaction of their own right after (a job
   * `pending` again, no attempt counted; meanwhile it showed `running`).
   */
  private async claimNamedBand(
    workerId: string,
    now: Date,
    band: DueBand,
    limit: number,
    skip: readonly string[],
    filter: ClaimFilter | undefined,
    onClaimed: ClaimShortcuts["onClaimed"],
  ): Promise<Claim> {
    return this.backend.autocommit(async (m) => {
      const claimed = await claimBand(this.backend, m, band, workerId, now, limit, skip);
      if (claimed.length === 0) return { runs: [], nextDue: null };
      onClaimed?.([...new Set(claimed.map((row) => Number(row.user_id)))]);
      const kept =
        filter && !filter.keepsAll(claimed) ? await this.backend.transaction((t) => filter.keep(t, claimed)) : claimed;
      return { runs: await this.loadClaimed(m, kept), nextDue: null, leftOut: claimed.length - kept.length };
    });
  }

  /**
   * Claims one cron whatever its schedule (a manual run); the `ir_cron` row
   * of a job claims its job, if it is pending.
   * @throws CurrentlyRunningError when another worker holds it
   * @throws InvalidStateError when it is the cron of a job that is not pending
   */
  async claimOne(workerId: string, cronId: number, now: Date, onClaimed?: OnClaimed): Promise<ClaimedRun> {
    const claimed = await this.backend.transaction(async (m) => {
      const cron = await m.findOneBy(IrCron, { id: cronId });
      if (!cron) throw new NotFoundError("ir_cron", cronId);
      if (cron.hrpCronJobId !== null) {
        const jobId = cron.hrpCronJobId;
        const rows = await claimJob(this.backend, m, workerId, now, jobId);
        if (rows.length > 0) return this.claimedNow(m, rows, onClaimed);
        const job = await findRun(m, `job:${jobId}`);
        if (job?.runningWorker) throw new CurrentlyRunningError(cronId, job.runningWorker, jobId);
        await requireRunnable(this.backend, m, cronId);
        throw new NotFoundError("hrp_cron_job", jobId); // a pending job is always claimable
      }
      const rows = await this.backend.query<ClaimedRow>(
        m,
        `UPDATE ir_cron SET running_worker = ?, running_since = ? WHERE id = ? AND running_worker IS NULL RETURNING *, 'cron' AS claim_source`,
        [workerId, this.backend.toDbDate(new Date()), cronId],
      );
      if (rows.length === 0) throw new CurrentlyRunningError(cronId, cron.runningWorker);
      return this.claimedNow(m, rows, onClaimed);
    });
    return claimed;
  }

  /** The one row a manual claim took, told to `onClaimed` in the claim's transaction. */
  private async claimedNow(
    m: EntityManager,
    rows: ClaimedRow[],
    onClaimed: OnClaimed | undefined,
  ): Promise<ClaimedRun> {
    const [run] = await this.loadClaimed(m, rows);
    await onClaimed?.(m, run);
    return run;
  }

  /**
   * Claims job `jobId` whatever its due time (a manual run of a job, queue
   * job or `runByCron` job alike: `Dispatcher.runJob`).
   * @throws NotFoundError when there is no such job
   * @throws CurrentlyRunningError when a worker holds it
   * @throws InvalidStateError when it is not pending (done, failed, cancelled, stopped)
   */
  async claimJobNow(workerId: string, jobId: number, now: Date, onClaimed?: OnClaimed): Promise<ClaimedRun> {
    return this.backend.transaction(async (m) => {
      const rows = await claimJob(this.backend, m, workerId, now, jobId);
      if (rows.length > 0) return this.claimedNow(m, rows, onClaimed);
      const job = await m.findOneBy(HrpCronJob, { id: jobId });
      if (!job) throw new NotFoundError("hrp_cron_job", jobId);
      if (job.runningWorker) throw new CurrentlyRunningError(0, job.runningWorker, jobId);
      throw new InvalidStateError(
        `Job ${jobId} is ${job.state}: only a pending job can be run${
          job.state === "failed" || job.state === "cancelled"
            ? `; retry it first to run it again (retryJob(${jobId}))`
            : ""
        }`,
        { jobId, state: job.state },
      );
    });
  }

  /**
   * Releases a claim without recording a run (the run could not start, e.g.
   * the database stayed busy); the run stays due (a job: `pending` again).
   * Compare-and-set on the holder: returns false (nothing written) when
   * `workerId` no longer held it.
   */
  async release(manager: EntityManager, cron: IrCron, workerId: string): Promise<boolean> {
    const source = sourceOf(cron);
    const n = await this.backend.execute(
      manager,
      `UPDATE ${tableOf(source)} SET running_worker = NULL, running_since = NULL, suspect_started = FALSE${
        source === "job" ? ", state = 'pending', date_started = NULL" : ""
      } WHERE id = ? AND running_worker = ?`,
      [rowIdOf(cron), workerId],
    );
    return n > 0;
  }

  /**
   * Releases a claim `workerId` holds but whose run never started (or whose
   * start is unknown: it never committed), logging it `interrupted` with
   * `note` from the claim to `auditNow`. False when the claim was lost.
   */
  async releaseUnrun(m: EntityManager, key: RunKey, workerId: string, auditNow: Date, note: string): Promise<boolean> {
    const cron = await findRun(m, key);
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

  /** Claimed rows as runs (crons as entities, jobs read as crons), with their jobs' callbacks, in run order. */
  private async loadClaimed(m: EntityManager, rows: readonly ClaimedRow[]): Promise<ClaimedRun[]> {
    const cronRows = rows.filter((r) => sourceOfRow(r) === "cron");
    const jobRows = rows.filter((r) => sourceOfRow(r) === "job");
    const runs: ClaimedRun[] = [
      ...hydrate(m, IrCron, cronRows).map((cron) => ({
        cron,
        onSuccess: null,
        onFailure: null,
        traceContext: null,
        attempt: null,
      })),
      ...jobRowsAsCrons(m, jobRows).map((cron, i) => ({
        cron,
        onSuccess: (jobRows[i].on_success as string | null) ?? null,
        onFailure: (jobRows[i].on_failure as string | null) ?? null,
        traceContext: (jobRows[i].trace_context as string | null) ?? null,
        attempt: Number(jobRows[i].attempts ?? 0) + 1,
      })),
    ];
    return runs.sort(
      (a, b) =>
        a.cron.priority - b.cron.priority ||
        a.cron.nextcall.getTime() - b.cron.nextcall.getTime() ||
        rowIdOf(a.cron) - rowIdOf(b.cron),
    );
  }
}
