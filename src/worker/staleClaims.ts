import type { IrCron } from "../schema/entities/IrCron";
import { runKey, type RunKey } from "../store/runSource";

/**
 * Whether the claims of a batch are still this worker's when each job is
 * about to start.
 *
 * A worker that was frozen (SIGSTOP, a VM pause, a long GC) stops
 * heartbeating; after `workerTimeoutMs` other workers recover its claims and
 * run them. When it resumes, its batch must not start the jobs it still has
 * buffered: their writes could not commit (the claim compare-and-set fences
 * them), but what they do outside the transaction (mail, HTTP calls) would
 * happen twice. Recovery needs the claim to be older than `workerTimeoutMs -
 * heartbeatIntervalMs`, so a claim taken (or checked) more recently than
 * `maxAgeMs` (half of that) is trusted without a round trip; otherwise one
 * statement re-reads the rest of the batch's claims. A batch of quick jobs
 * therefore never pays for it.
 *
 * One instance per batch run; `check` reads which of the given runs are
 * still held.
 */
export class StaleClaimCheck {
  private checkedAt: number;
  private readonly lost = new Set<RunKey>();

  constructor(
    private readonly crons: readonly IrCron[],
    private readonly maxAgeMs: number,
    private readonly check: (keys: RunKey[]) => Promise<Set<RunKey>>,
  ) {
    // Claim times are this process's wall clock (the claim statement writes them).
    this.checkedAt = crons.reduce((min, c) => Math.min(min, c.runningSince?.getTime() ?? min), Date.now());
  }

  /** Whether `crons[index]` may start: its claim is recent, or the database says it is still held. */
  async held(index: number): Promise<boolean> {
    if (Date.now() - this.checkedAt > this.maxAgeMs) {
      const rest = this.crons
        .slice(index)
        .map(runKey)
        .filter((key) => !this.lost.has(key));
      this.checkedAt = Date.now();
      const held = await this.check(rest);
      for (const key of rest) if (!held.has(key)) this.lost.add(key);
    }
    return !this.lost.has(runKey(this.crons[index]));
  }
}
