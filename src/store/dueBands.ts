import type { EntityManager } from "typeorm";
import type { Backend } from "../backend";
import { methodNotIn, placeholders, READY, ready } from "./predicates";

/**
 * The statements of a claim (see `ClaimStore.claimDue`), whose cost does
 * not grow with the rows that are not due: one statement finds which
 * (queue, priority) bands hold due rows (an index skip-scan over
 * priorities), then each band is claimed with a range scan of its due rows
 * that stops at the limit; rows with a concurrency key, and every row of a
 * limited queue, go through the limit-aware path under the limits lock.
 */

/** An `ir_cron` row as a claim statement returned it (`RETURNING *`). */
export type ClaimedRow = Record<string, unknown>;

/** What one claim may take from one queue. */
export interface ClaimPlan {
  readonly queue: string;
  /** At most this many from this queue (this worker's free slots for it). */
  readonly max: number;
  /** The queue's global limit, or null. */
  readonly maxConcurrency: number | null;
}

/** A queue and priority holding due rows. */
export interface DueBand {
  readonly queue: string;
  readonly priority: number;
}

/**
 * The (queue, priority) bands of `queues` that hold due, unclaimed rows,
 * in priority order, and whether any due row anywhere has a concurrency
 * key. See {@link bandHeads}; the key probe reads ir_cron_keyed_due_idx.
 */
export async function dueBands(
  backend: Backend,
  m: EntityManager,
  queues: readonly string[],
  now: Date,
): Promise<{ bands: DueBand[]; keyed: boolean; nextDue: Date | null }> {
  const at = backend.toDbDate(now);
  const heads = await bandHeads(
    backend,
    m,
    queues,
    `(SELECT COUNT(*) FROM (SELECT 1 FROM ir_cron WHERE ${READY} AND concurrency_key IS NOT NULL AND nextcall <= ? LIMIT 1) x)`,
    [at],
  );
  const bands = heads.filter((h) => h.first.getTime() <= now.getTime()).sort((a, b) => a.priority - b.priority);
  const nextDue = heads.reduce<Date | null>((min, h) => (min === null || h.first < min ? h.first : min), null);
  return { bands, keyed: heads.some((h) => Number(h.extra) > 0), nextDue };
}

/**
 * For each priority value present among the ready rows of each queue, its
 * earliest `nextcall` (and the value of the `extra` SQL expression, bound
 * with `extraParams`). A recursive walk of ir_cron_queue_due_idx visits
 * each priority value once (an O(log n) probe, however many rows share
 * it) and reads one row per band; scalar subqueries keep the planner from
 * turning that into a scan of every due row.
 */
async function bandHeads(
  backend: Backend,
  m: EntityManager,
  queues: readonly string[],
  extra: string,
  extraParams: unknown[],
) {
  const rows = await backend.query<{ q: string; p: unknown; first: unknown; extra: unknown }>(
    m,
    `WITH RECURSIVE prios(q, p) AS (
        SELECT v.column1, (SELECT priority FROM ir_cron WHERE queue = v.column1 AND ${READY} ORDER BY priority LIMIT 1)
          FROM (VALUES ${queues.map(() => "(?)").join(", ")}) AS v
        UNION ALL
        SELECT q, (SELECT priority FROM ir_cron WHERE queue = prios.q AND ${READY} AND priority > prios.p ORDER BY priority LIMIT 1)
          FROM prios WHERE p IS NOT NULL)
     SELECT q, p, (SELECT nextcall FROM ir_cron WHERE queue = prios.q AND priority = prios.p AND ${READY} ORDER BY nextcall LIMIT 1) AS first,
            ${extra} AS extra
       FROM prios WHERE p IS NOT NULL`,
    [...queues, ...extraParams],
  );
  return rows.flatMap((r) => {
    const first = backend.fromDbDate(r.first);
    return first ? [{ queue: r.q, priority: Number(r.p), first, extra: r.extra }] : [];
  });
}

/** Claims up to `limit` due rows without a key from one band, in run order, skipping rows others are claiming. */
export async function claimBand(
  backend: Backend,
  m: EntityManager,
  workerId: string,
  now: Date,
  queue: string,
  priority: number,
  limit: number,
  skip: readonly string[],
): Promise<ClaimedRow[]> {
  // A range scan of the band's due rows (ir_cron_queue_due_idx) that stops at the limit.
  // The CTE is evaluated once, so the LIMIT holds.
  return backend.query<ClaimedRow>(
    m,
    `WITH due AS (
        SELECT id FROM ir_cron
         WHERE queue = ? AND priority = ? AND ${READY}
           AND nextcall <= ? AND concurrency_key IS NULL${methodNotIn("", skip)}
         ORDER BY nextcall, id LIMIT ? ${backend.claimLockClause})
     UPDATE ir_cron SET running_worker = ?, running_since = ?
       FROM due WHERE ir_cron.id = due.id AND ir_cron.running_worker IS NULL -- RETURNING * adds due.id (the same id) on PostgreSQL
     RETURNING *`,
    [queue, priority, backend.toDbDate(now), ...skip, limit, workerId, backend.toDbDate(new Date())],
  );
}

/** Ready rows of `queue` whose key (if any) is below its limit, in run order. */
export function candidates(
  backend: Backend,
  m: EntityManager,
  now: Date,
  queue: string,
  limit: number,
  keyedOnly: boolean,
  skip: readonly string[],
) {
  return backend.query<{ id: number; concurrency_key: string | null; concurrency_limit: number | null }>(
    m,
    `SELECT c.id, c.concurrency_key, c.concurrency_limit FROM ir_cron c
      WHERE c.queue = ? AND ${ready("c.")} AND c.nextcall <= ?
        ${keyedOnly ? "AND c.concurrency_key IS NOT NULL" : ""}${methodNotIn("c.", skip)}
        AND (c.concurrency_key IS NULL OR c.concurrency_limit IS NULL OR c.concurrency_limit >
             (SELECT COUNT(*) FROM ir_cron r WHERE r.concurrency_key = c.concurrency_key AND r.running_worker IS NOT NULL))
      ORDER BY c.priority, c.nextcall, c.id LIMIT ? ${backend.claimLockClause}`,
    [queue, backend.toDbDate(now), ...skip, limit],
  );
}

/** Under the limits lock: counts what runs now and claims only what the limits allow. */
export async function claimLimited(
  backend: Backend,
  m: EntityManager,
  workerId: string,
  now: Date,
  plan: ClaimPlan,
  room: number,
  keyedOnly: boolean,
  skip: readonly string[],
): Promise<ClaimedRow[]> {
  let allowed = room;
  if (plan.maxConcurrency !== null) {
    const [row] = await backend.query<{ n: unknown }>(
      m,
      `SELECT COUNT(*) AS n FROM ir_cron WHERE queue = ? AND running_worker IS NOT NULL`,
      [plan.queue],
    );
    allowed = Math.min(allowed, plan.maxConcurrency - Number(row.n));
  }
  if (allowed <= 0) return [];
  const rows = await candidates(backend, m, now, plan.queue, allowed * 4, keyedOnly, skip);
  const keys = [...new Set(rows.map((r) => r.concurrency_key).filter((k): k is string => k !== null))];
  const running = new Map<string, number>();
  if (keys.length > 0) {
    const counts = await backend.query<{ k: string; n: unknown }>(
      m,
      `SELECT concurrency_key AS k, COUNT(*) AS n FROM ir_cron WHERE running_worker IS NOT NULL AND concurrency_key IN (${placeholders(keys.length)}) GROUP BY concurrency_key`,
      keys,
    );
    for (const c of counts) running.set(c.k, Number(c.n));
  }
  const chosen: number[] = [];
  for (const row of rows) {
    if (chosen.length >= allowed) break;
    if (row.concurrency_key !== null) {
      const n = running.get(row.concurrency_key) ?? 0;
      if (n >= Number(row.concurrency_limit ?? Infinity)) continue;
      running.set(row.concurrency_key, n + 1);
    }
    chosen.push(Number(row.id));
  }
  if (chosen.length === 0) return [];
  return backend.query<ClaimedRow>(
    m,
    `UPDATE ir_cron SET running_worker = ?, running_since = ? WHERE running_worker IS NULL AND ${backend.idIn("id")} RETURNING *`,
    [workerId, backend.toDbDate(new Date()), backend.idList(chosen)],
  );
}
