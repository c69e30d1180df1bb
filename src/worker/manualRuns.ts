import { RUN_DUE_OPTION_KEYS, type RunDueOptions } from "../core/options";
import type { RunResult } from "../core/types";
import { checkInt, checkOptions } from "../core/validate";
import type { Claim, ClaimedRun } from "../store/claims";
import { runKey, type RunKey } from "../store/runSource";
import type { Execution } from "./execution";
import type { Liveness } from "./liveness";
import type { OwnClaims } from "./ownClaims";

/**
 * A dispatcher's runs made on request rather than by its loop: `runDue`
 * (everything due now, batch after batch) and `runNow` / `runJob` (one cron
 * or job, due or not). A dispatcher that is not started registers for the call and
 * unregisters after it. Keeps what it claimed, for the re-check of the
 * worker's own claims.
 */
export class ManualRuns {
  /** Claimed by `runNow` / `runDue` and not finished yet. */
  private readonly claimed = new Set<ClaimedRun>();

  constructor(
    private readonly liveness: Liveness,
    private readonly own: OwnClaims,
    private readonly execution: Execution,
    /** Claims up to `total` due runs (in the dispatcher's queue order). */
    private readonly claimDue: (total: number) => Promise<Claim>,
    private readonly batchSize: number,
    /** Whether the dispatcher's loop runs (then it stays registered). */
    private readonly started: () => boolean,
  ) {}

  /** See `Dispatcher.runDue`. @throws ValidationError for malformed options, before anything runs */
  runDue(options: RunDueOptions): Promise<RunResult[]> {
    const { maxRuns } = checkOptions("options", options, RUN_DUE_OPTION_KEYS);
    const limit = maxRuns === undefined ? Infinity : checkInt("maxRuns", maxRuns, 1, Number.MAX_SAFE_INTEGER);
    return this.registered(() => this.drain(limit));
  }

  /** See `Dispatcher.runNow` and `Dispatcher.runJob`: runs what `claim` claims (one cron or job, whatever its schedule). */
  runOne(claim: () => Promise<ClaimedRun>): Promise<RunResult> {
    return this.registered(async () => {
      const run = await this.own.claiming(claim, (claimed) => this.claimed.add(claimed));
      try {
        return await this.execution.one(run);
      } finally {
        this.claimed.delete(run);
      }
    });
  }

  /** Runs claimed by these calls and not finished yet. */
  *heldKeys(): Iterable<RunKey> {
    for (const run of this.claimed) yield runKey(run.cron);
  }

  /** Runs `work` registered: a worker not started registers for it and unregisters after (unless it was started meanwhile). */
  private async registered<T>(work: () => Promise<T>): Promise<T> {
    const temporary = !this.liveness.registered;
    if (temporary) await this.liveness.register();
    try {
      return await work();
    } finally {
      if (temporary && !this.started()) await this.liveness.unregister();
    }
  }

  /** Claims of `batchSize`, run as batches one after another, until nothing is due or `maxRuns` runs were made. */
  private async drain(maxRuns: number): Promise<RunResult[]> {
    const results: RunResult[] = [];
    await this.liveness.recover();
    while (results.length < maxRuns) {
      const claim = () => this.claimDue(Math.min(this.batchSize, maxRuns - results.length));
      let pending = (await this.own.claiming(claim, (claimed) => claimed.runs.forEach((r) => this.claimed.add(r))))
        .runs;
      if (pending.length === 0) break;
      let progressed = false;
      try {
        while (pending.length > 0) {
          const outcome = await this.execution.batch(pending, () => true);
          results.push(...outcome.results);
          if (outcome.results.some((r) => r.outcome !== "skipped")) progressed = true;
          for (const run of pending) if (!outcome.deferred.includes(run)) this.claimed.delete(run);
          pending = outcome.deferred;
        }
      } finally {
        for (const run of pending) this.claimed.delete(run);
      }
      if (!progressed) break;
    }
    return results;
  }
}
