import { joinMethodName } from "../core/methodName";
import type { EntityManager } from "typeorm";
import type { Backend } from "../backend";
import type { Claim, ClaimedRow } from "../store/claims";
import type { ModelRegistry } from "../core/registry";
import type { Logger } from "../core/types";

/** How long a worker leaves a method it lacks to other workers before it looks at that method's jobs again. */
const BACKOFF_MS = 5_000;
/** Claims in a row whose rows may all be handed back before {@link MethodGate.claim} stops for this round. */
const MAX_ROUNDS = 8;

/** Decides, inside the claim's transaction, which claimed rows this worker runs. */
export interface ClaimFilter {
  /** `model.method` names not to claim at all now. */
  skipMethods(): readonly string[];
  /** The rows to run; the others are handed back in `m` before it returns. */
  keep(m: EntityManager, rows: readonly ClaimedRow[]): Promise<ClaimedRow[]>;
}

/** SQL: `AND` a row's method is none of `skip` (one `?` each), or nothing when `skip` is empty. */
export function methodNotIn(alias: string, skip: readonly string[]): string {
  return skip.length === 0 ? "" : ` AND (${alias}model || '.' || ${alias}function) NOT IN (${skip.map(() => "?").join(", ")})`;
}

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

  constructor(private readonly backend: Backend, private readonly registry: ModelRegistry, private readonly options: GateOptions) {}

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
      if (result.crons.length > 0 || !result.leftOut || round >= MAX_ROUNDS) return result;
    }
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
    for (const [method, n] of countBy(elsewhere)) this.options.logger.info("left jobs of a method this worker does not know to workers that serve it", { method, jobs: n });
    for (const [method, n] of countBy(waiting)) {
      this.options.logger.warn("no live worker serves this method; its jobs wait, then fail after unknownMethodGraceMs", { method, jobs: n, unknownMethodGraceMs: grace });
    }
    const handedBack = new Set([...elsewhere, ...waiting]);
    return rows.filter((row) => !handedBack.has(row));
  }
}

/**
 * Hands claimed rows whose method this worker lacks back, unclaimed, in the
 * claim's transaction `m` — before their jobs were marked running, so this
 * counts no attempt and writes nothing else. `unservedSince`: null when a
 * live worker serves the method (clears the mark), else the time to record
 * unless an earlier one is there.
 */
export async function handBackUnknownMethodClaims(backend: Backend, m: EntityManager, rows: readonly ClaimedRow[], unservedSince: Date | null): Promise<void> {
  if (rows.length === 0) return;
  const mark = unservedSince === null ? "NULL" : "COALESCE(unserved_since, ?)";
  await backend.execute(
    m,
    `UPDATE ir_cron SET running_worker = NULL, running_since = NULL, unserved_since = ${mark} WHERE ${backend.idIn("id")}`,
    [...(unservedSince === null ? [] : [backend.toDbDate(unservedSince)]), backend.idList(rows.map((row) => Number(row.id)))],
  );
}

/** The `model.method` names served by workers that heartbeat within `workerTimeoutMs` (wall clock). */
export async function liveWorkerMethods(backend: Backend, m: EntityManager, workerTimeoutMs: number): Promise<Set<string>> {
  const rows = await backend.query<{ methods: string | null }>(
    m,
    `SELECT methods FROM hrp_cron_worker WHERE last_seen_at > ? AND methods IS NOT NULL`,
    [backend.toDbDate(new Date(Date.now() - workerTimeoutMs))],
  );
  const served = new Set<string>();
  for (const row of rows) {
    const names: unknown = parseOrNull(row.methods);
    if (Array.isArray(names)) for (const name of names) served.add(String(name));
  }
  return served;
}

function methodOf(row: ClaimedRow): string {
  return joinMethodName(String(row.model), String(row.function));
}

function countBy(rows: readonly ClaimedRow[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(methodOf(row), (counts.get(methodOf(row)) ?? 0) + 1);
  return counts;
}

function parseOrNull(text: string | null): unknown {
  try {
    return text === null ? null : JSON.parse(text);
  } catch {
    return null;
  }
}
