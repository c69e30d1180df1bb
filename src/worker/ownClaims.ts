import type { Backend } from "../backend";
import type { Logger } from "../core/types";
import type { ClaimStore } from "../store/claims";
import type { RunKey } from "../store/runSource";
import { claimHolders, type ClaimHolder } from "../store/workers";

/**
 * A worker's re-check of the claims the database says it holds.
 *
 * Dead workers' claims are released by the others' recovery; but a live
 * worker can also hold a claim it no longer runs: the release after a
 * failed batch, or a whole batch, failed while the database was down; or
 * a claim's COMMIT reached the server but its reply never came back, so the
 * claimed rows never reached the worker. Nobody else would ever release
 * those — the worker keeps heartbeating. So on each recovery tick the
 * worker compares the claims listed under its id with what it holds in
 * memory (`heldKeys`: claimed ahead, in a batch, in a manual run) and
 * releases the rest (compare-and-set on the holder; run log `interrupted`):
 * at most one recovery interval after the database is back. On a graceful
 * stop it releases everything it no longer runs.
 *
 * A claim statement still in flight may have committed rows the worker has
 * not received yet; such rows were claimed after that statement began, so
 * only claims older than the oldest claim in flight are judged
 * ({@link claiming}).
 */
export class OwnClaims {
  /** Claim statements in flight, by the wall-clock instant they began. */
  private readonly inFlight = new Set<{ readonly since: number }>();

  constructor(
    private readonly backend: Backend,
    private readonly claims: ClaimStore,
    private readonly workerId: string,
    private readonly logger: Logger,
    /** The runs this worker holds in memory. */
    private readonly heldKeys: () => Iterable<RunKey>,
  ) {}

  /**
   * Runs a claim statement, then `keep` (which must put what was claimed
   * where `heldKeys` sees it) before the claim stops counting as in flight.
   */
  async claiming<T>(claim: () => Promise<T>, keep: (claimed: T) => void): Promise<T> {
    const token = { since: Date.now() };
    this.inFlight.add(token);
    try {
      const claimed = await claim();
      keep(claimed);
      return claimed;
    } finally {
      this.inFlight.delete(token);
    }
  }

  /**
   * Releases the claims among `holders` (the rows `ClaimStore.heartbeat`
   * listed) that the database gives to this worker but it does not hold;
   * returns how many.
   */
  async recheck(holders: readonly ClaimHolder[], auditNow: Date): Promise<number> {
    let settled = Number.POSITIVE_INFINITY;
    for (const claim of this.inFlight) settled = Math.min(settled, claim.since);
    const held = new Set(this.heldKeys());
    const orphans = holders.filter((row) => {
      if (row.running_worker !== this.workerId || held.has(row.key)) return false;
      const since = this.backend.fromDbDate(row.running_since);
      return since === null || since.getTime() < settled;
    });
    let released = 0;
    for (const row of orphans) if (await this.release(row.key, auditNow)) released++;
    if (released > 0)
      this.logger.warn(
        "released claims this worker held without running them (a database error interrupted their batch or release)",
        { workerId: this.workerId, released },
      );
    return released;
  }

  /** Graceful stop: releases every claim of this worker that it does not hold any more. */
  async releaseAll(auditNow: Date): Promise<number> {
    return this.recheck(await this.backend.transaction((m) => claimHolders(this.backend, m)), auditNow);
  }

  /** Whether its run began is unknown (it never committed): its start is the claim, its duration unknown. */
  private release(key: RunKey, auditNow: Date): Promise<boolean> {
    const note = `Worker ${this.workerId} held this claim without running it (a database error interrupted its batch or its release); the cron was released to run again`;
    return this.backend.transaction((m) => this.claims.releaseUnrun(m, key, this.workerId, auditNow, note));
  }
}
