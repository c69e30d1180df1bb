import { joinMethodName } from "../core/methodName";
import type { EntityManager } from "typeorm";
import type { Backend } from "../backend";
import type { Claim, ClaimedRow, ClaimFilter } from "../store/claims";
import { handBackUnknownMethodClaims } from "../store/methodGate";
import { liveWorkerMethods } from "../store/workers";
import type { ModelRegistry } from "../core/registry";
import type { Logger } from "../core/types";

/** How long a worker leaves a method it lacks to other workers before it looks at that method's jobs again. */
const BACKOFF_MS = 5_000;
/** Claims in a row whose rows may all be handed back before {@link MethodGate.claim} stops for this round. */
const MAX_ROUNDS = 8;

/** What the gate needs from the dispatcher's options. */
interface GateOptions {
  readonly unknownMethodGraceMs: number;
  readonly workerTimeoutMs: number;
  readonly logger: Logger;
}

/**
 * Rolling deploys: a worker leaves jobs whose method it does not know to
 * workers that know it, instead of failing them.
 *
 * Workers register the `model.method` names they serve
 * (`hrp_cron_worker.methods`). When a claim takes a row whose method this
 * worker's registry lacks, the gate hands it back in the claim's own
 * transaction, before its job is marked running — so no attempt is counted
 * and nothing else is written for it — and this worker skips that method in
 * its claims for a few seconds (so it does not take the row again in a loop)
 * while a live worker that serves it takes it.
 *
 * When no live worker (heartbeat within `workerTimeoutMs`) serves the method,
 * the row is still handed back, and `ir_cron.unserved_since` records since
 * when; once that is `unknownMethodGraceMs` ago (5 minutes by default) the
 * row runs here and fails loudly with "Method `model.fn` does not exist", as
 * without the gate. `hrp-cron doctor` lists such methods meanwhile.
 *
 * Cost: one `Map` lookup per claimed row; the rest happens only when a
 * claim takes a row of an unknown method.
 */
export class MethodGate implements ClaimFilter {
  /** Methods handed back recently, with the time (ms, wall clock) until which they are not claimed. */
  private readonly backoff = new Map<string, number>();

  constructor(
    private readonly backend: Backend,
    private readonly registry: ModelRegistry,
    private readonly options: GateOptions,
  ) {}

  /** The `model.method` names this worker serves, for its registration. */
  methods(): string[] {
    return this.registry.list();
  }

  skipMethods(): string[] {
    const now = Date.now();
    for (const [method, until] of this.backoff) if (until <= now) this.backoff.delete(method);
    return [...this.backoff.keys()];
  }

  /**
   * Runs `claim` (a claim using this gate) again while everything it took
   * was handed back: the methods handed back are skipped next time, so an
   * empty result means that nothing this worker can run is due.
   */
  async claim(claim: () => Promise<Claim>): Promise<Claim> {
    for (let round = 1; ; round++) {
      const result = await claim();
      if (result.runs.length > 0 || !result.leftOut || round >= MAX_ROUNDS) return result;
    }
  }

  keepsAll(rows: readonly ClaimedRow[]): boolean {
    return rows.every((row) => this.registry.has(String(row.model), String(row.function)));
  }

  async keep(m: EntityManager, rows: readonly ClaimedRow[]): Promise<ClaimedRow[]> {
    const lacking = new Set(rows.filter((row) => !this.registry.has(String(row.model), String(row.function))));
    if (lacking.size === 0) return [...rows];
    const served = await liveWorkerMethods(this.backend, m, this.options.workerTimeoutMs);
    const now = Date.now();
    const grace = this.options.unknownMethodGraceMs;
    const elsewhere: ClaimedRow[] = [];
    const waiting: ClaimedRow[] = [];
    for (const row of lacking) {
      const method = methodOf(row);
      if (served.has(method)) {
        elsewhere.push(row);
        this.backoff.set(method, now + BACKOFF_MS);
        continue;
      }
      const since = this.backend.fromDbDate(row.unserved_since)?.getTime() ?? now;
      const leftMs = since + grace - now;
      if (leftMs <= 0) continue; // no live worker has served it for the whole grace period: it runs, and fails
      waiting.push(row);
      this.backoff.set(method, Math.min(this.backoff.get(method) ?? Infinity, now + Math.min(BACKOFF_MS, leftMs)));
    }
    await handBackUnknownMethodClaims(this.backend, m, elsewhere, null);
    await handBackUnknownMethodClaims(this.backend, m, waiting, new Date(now));
    for (const [method, n] of countBy(elsewhere))
      this.options.logger.info("left jobs of a method this worker does not know to workers that serve it", {
        method,
        jobs: n,
      });
    for (const [method, n] of countBy(waiting)) {
      this.options.logger.warn(
        "no live worker serves this method; its jobs wait, then fail after unknownMethodGraceMs",
        { method, jobs: n, unknownMethodGraceMs: grace },
      );
    }
    const handedBack = new Set([...elsewhere, ...waiting]);
    return rows.filter((row) => !handedBack.has(row));
  }
}

function methodOf(row: ClaimedRow): string {
  return joinMethodName(String(row.model), String(row.function));
}

function countBy(rows: readonly ClaimedRow[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(methodOf(row), (counts.get(methodOf(row)) ?? 0) + 1);
  return counts;
}
