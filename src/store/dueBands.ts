import type { EntityManager } from "typeorm";
import type { Backend } from "../backend";
import { methodNotIn, placeholders, queueNotPaused, readyIn } from "./predicates";
import { tableOf, type RunSource } from "./runSource";

/**
 * The statements of a claim (see `ClaimStore.claimDue`), whose cost does
 * not grow with the rows that are not due: one statement finds which
 * (source, queue, priority) bands hold due rows (an index skip-scan over
 * priorities, in `ir_cron` for recurring crons and in `hrp_cron_job` for
 * one-shot jobs), then each band is claimed with a range scan of its due
 * rows that stops at the limit; rows with a concurrency key, and every row
 * of a limited queue, go through the limit-aware path under the limits lock.
 * Limits count the runs of both sources.
 */

/** A row as a claim statement returned it (`RETURNING *`, plus `claim_source` and, for a job, `cron_id`). */
export type ClaimedRow = Record<string, unknown>;

/** What one claim may take from one queue. */
export interface ClaimPlan {
  readonly queue: string;
  /** At most this many from this queue (this worker's free slots for it). */
  readonly max: number;
  /** The queue's global limit, or null. */
  readonly maxConcurrency: number | null;
}

/** A source, queue and priority holding due rows. */
export interface DueBand {
  readonly source: RunSource;
  readonly queue: string;
  readonly priority: number;
  /** The users of its new work, as wake-ups said (a hint for looking them up early; the claim ignores it). */
  readonly users?: readonly number[];
}

/** The source of a claimed row. */
export function sourceOfRow(row: ClaimedRow): RunSource {
  return row.claim_source === "job" ? "job" : "cron";
}

/**
 * The (source, queue, priority) bands of `queues` that hold due, unclaimed
 * rows, in priority order, and whether any due row anywhere has a
 * concurrency key. See {@link bandHeads}; the key probes read the keyed
 * ready indexes.
 */
export async function dueBands(
  backend: Backend,
  m: EntityManager,
  queues: readonly string[],
  now: Date,
): Promise<{ bands: DueBand[]; keyed: boolean; nextDue: Date | null }> {
  const heads = await bandHeads(backend, m, queues, now);
  const bands = heads.filter((h) => h.first.getTime() <= now.getTime()).sort((a, b) => a.priority - b.priority);
  const nextDue = heads.reduce<Date | null>((min, h) => (min === null || h.first < min ? h.first : min), null);
  return { bands, keyed: heads.some((h) => h.keyed), nextDue };
}

/**
 * For each priority value present among the ready rows of each queue, in
 * each source, its earliest `nextcall`, and whether any due row of that
 * source has a concurrency key. One recursive walk per source of its ready
 * index (`(queue, priority, nextcall, id)`) visits each priority value once
 * (an O(log n) probe, however many rows share it) and reads one row per
 * band; scalar subqueries keep the planner from turning that into a scan of
 * every due row. Both walks go in one statement.
 */
async function bandHeads(backend: Backend, m: EntityManager, queues: readonly string[], now: Date) {
  const at = backend.toDbDate(now);
  const values = `(VALUES ${queues.map(() => "(?)").join(", ")})`;
  const walk = (source: RunSource, cte: string) => {
    const t = tableOf(source);
    const r = readyIn(source);
    return `${cte}(q, p) AS (
        SELECT v.column1, (SELECT priority FROM ${t} WHERE queue = v.column1 AND ${r} ORDER BY priority LIMIT 1)
          FROM ${values} AS v
         WHERE NOT EXISTS (SELECT 1 FROM hrp_cron_queue_state qs WHERE qs.queue = v.column1 AND qs.paused = TRUE)
        UNION ALL
        SELECT q, (SELECT priority FROM ${t} WHERE queue = ${cte}.q AND ${r} AND priority > ${cte}.p ORDER BY priority LIMIT 1)
          FROM ${cte} WHERE p IS NOT NULL)`;
  };
  const heads = (source: RunSource, cte: string) => {
    const t = tableOf(source);
    const r = readyIn(source);
    return `SELECT '${source}' AS s, q, p,
            (SELECT nextcall FROM ${t} WHERE queue = ${cte}.q AND priority = ${cte}.p AND ${r} ORDER BY nextcall LIMIT 1) AS first,
            (SELECT COUNT(*) FROM (SELECT 1 FROM ${t} WHERE ${r} AND concurrency_key IS NOT NULL AND nextcall <= ? LIMIT 1) x) AS keyed
       FROM ${cte} WHERE p IS NOT NULL`;
  };
  const rows = await backend.query<{ s: RunSource; q: string; p: unknown; first: unknown; keyed: unknown }>(
    m,
    `WITH RECURSIVE ${walk("cron", "cp")}, ${walk("job", "jp")}
     ${heads("cron", "cp")}
     UNION ALL
     ${heads("job", "jp")}`,
    [...queues, ...queues, at, at],
  );
  return rows.flatMap((r) => {
    const first = backend.fromDbDate(r.first);
    return first ? [{ source: r.s, queue: r.q, priority: Number(r.p), first, keyed: Number(r.keyed) > 0 }] : [];
  });
}

/** What a claim writes on the rows of `source`, with its parameters (wall-clock `running_since`; a job's start on the schedule clock). */
function claimSet(
  backend: Backend,
  source: RunSource,
  workerId: string,
  now: Date,
): { set: string; params: unknown[] } {
  const since = backend.toDbDate(new Date());
  if (source === "cron") return { set: "running_worker = ?, running_since = ?", params: [workerId, since] };
  return {
    set: "state = 'running', running_worker = ?, running_since = ?, date_started = ?",
    params: [workerId, since, backend.toDbDate(now)],
  };
}

/**
 * The re-check of a row a claim statement locked, by id: still unclaimed
 * (a job: still pending). Written so that no planner reads it as a ready
 * index's predicate (COALESCE): with `state = 'pending'` PostgreSQL joined
 * the claimed ids against every pending job instead of looking each up.
 */
function stillReady(source: RunSource, alias: string): string {
  return source === "cron" ? `${alias}running_worker IS NULL` : `COALESCE(${alias}state, '') = 'pending'`;
}

/** What a claim returns of `source`'s rows: every column, the source, and a job's `ir_cron` row (0: none). */
function claimReturning(source: RunSource): string {
  return source === "cron"
    ? "RETURNING *, 'cron' AS claim_source"
    : `RETURNING *, 'job' AS claim_source,
       CASE WHEN kind = 'cron' THEN (SELECT c.id FROM ir_cron c WHERE c.hrp_cron_job_id = hrp_cron_job.id) ELSE 0 END AS cron_id`;
}

/**
 * Claims one job `jobId` if it is pending, whatever its due time (a manual
 * run of its `ir_cron` row); none when it is not pending.
 */
export function claimJob(backend: Backend, m: EntityManager, workerId: string, now: Date, jobId: number) {
  const { set, params } = claimSet(backend, "job", workerId, now);
  return backend.query<ClaimedRow>(
    m,
    `UPDATE hrp_cron_job SET ${set} WHERE id = ? AND ${stillReady("job", "")} ${claimReturning("job")}`,
    [...params, jobId],
  );
}

/** Claims up to `limit` due rows without a key from one band, in run order, skipping rows others are claiming. */
export async function claimBand(
  backend: Backend,
  m: EntityManager,
  band: DueBand,
  workerId: string,
  now: Date,
  limit: number,
  skip: readonly string[],
): Promise<ClaimedRow[]> {
  const t = tableOf(band.source);
  const r = readyIn(band.source);
  const { set, params } = claimSet(backend, band.source, workerId, now);
  // A range scan of the band's due rows (the source's ready index) that stops at the limit.
  // The CTE is evaluated once, so the LIMIT holds.
  return backend.query<ClaimedRow>(
    m,
    `WITH due AS (
        SELECT id FROM ${t}
         WHERE queue = ? AND priority = ? AND ${r}
           AND nextcall <= ? AND concurrency_key IS NULL${methodNotIn("", skip)}${queueNotPaused(`${t}.`)}
         ORDER BY nextcall, id LIMIT ? ${backend.claimLockClause})
     UPDATE ${t} SET ${set}
       FROM due WHERE ${t}.id = due.id AND ${stillReady(band.source, `${t}.`)} -- RETURNING * adds due.id (the same id) on PostgreSQL
     ${claimReturning(band.source)}`,
    [band.queue, band.priority, backend.toDbDate(now), ...skip, limit, ...params],
  );
}

/**
 * How many of the first `limit` due rows without a key of a (queue,
 * priority) band held by both sources, in run order `nextcall, id`, are
 * crons and how many are jobs (read without locks; the two band claims then
 * take that many each).
 */
export async function splitBand(
  backend: Backend,
  m: EntityManager,
  queue: string,
  priority: number,
  now: Date,
  limit: number,
  skip: readonly string[],
): Promise<Record<RunSource, number>> {
  const branch = (source: RunSource) =>
    `SELECT * FROM (SELECT '${source}' AS s, nextcall, id FROM ${tableOf(source)}
        WHERE queue = ? AND priority = ? AND ${readyIn(source)} AND nextcall <= ? AND concurrency_key IS NULL${methodNotIn("", skip)}${queueNotPaused(`${tableOf(source)}.`)}
        ORDER BY nextcall, id LIMIT ?) ${source}_due`;
  const args = [queue, priority, backend.toDbDate(now), ...skip, limit];
  const rows = await backend.query<{ s: RunSource; n: unknown }>(
    m,
    `SELECT s, COUNT(*) AS n FROM (SELECT s FROM (${branch("cron")} UNION ALL ${branch("job")}) d ORDER BY nextcall, id, s LIMIT ?) f GROUP BY s`,
    [...args, ...args, limit],
  );
  const out: Record<RunSource, number> = { cron: 0, job: 0 };
  for (const row of rows) out[row.s] = Number(row.n);
  return out;
}

/** A ready row of the limit-aware path, with its source. */
export interface Candidate {
  readonly source: RunSource;
  readonly id: number;
  readonly priority: number;
  readonly nextcall: Date;
  readonly concurrency_key: string | null;
  readonly concurrency_limit: number | null;
}

/** Ready rows of `queue` in both sources whose key (if any) is below its limit, in run order. */
export async function candidates(
  backend: Backend,
  m: EntityManager,
  now: Date,
  queue: string,
  limit: number,
  keyedOnly: boolean,
  skip: readonly string[],
): Promise<Candidate[]> {
  const all: Candidate[] = [];
  for (const source of ["cron", "job"] as const) {
    const rows = await backend.query<{
      id: unknown;
      priority: unknown;
      nextcall: unknown;
      concurrency_key: string | null;
      concurrency_limit: unknown;
    }>(
      m,
      `SELECT c.id, c.priority, c.nextcall, c.concurrency_key, c.concurrency_limit FROM ${tableOf(source)} c
        WHERE c.queue = ? AND ${readyIn(source, "c.")} AND c.nextcall <= ?
          ${keyedOnly ? "AND c.concurrency_key IS NOT NULL" : ""}${methodNotIn("c.", skip)}${queueNotPaused("c.")}
          AND (c.concurrency_key IS NULL OR c.concurrency_limit IS NULL OR c.concurrency_limit > ${runningWithKey("c.concurrency_key")})
        ORDER BY c.priority, c.nextcall, c.id LIMIT ? ${backend.claimLockClause}`,
      [queue, backend.toDbDate(now), ...skip, limit],
    );
    for (const r of rows)
      all.push({
        source,
        id: Number(r.id),
        priority: Number(r.priority),
        nextcall: backend.fromDbDate(r.nextcall)!,
        concurrency_key: r.concurrency_key,
        concurrency_limit: r.concurrency_limit === null ? null : Number(r.concurrency_limit),
      });
  }
  return all
    .sort(
      (a, b) =>
        a.priority - b.priority ||
        a.nextcall.getTime() - b.nextcall.getTime() ||
        (a.source === b.source ? a.id - b.id : a.source === "cron" ? -1 : 1),
    )
    .slice(0, limit);
}

/** SQL: how many runs of both sources hold a claim with the concurrency key `keyExpr`. */
function runningWithKey(keyExpr: string): string {
  return `((SELECT COUNT(*) FROM ir_cron r WHERE r.concurrency_key = ${keyExpr} AND r.running_worker IS NOT NULL)
         + (SELECT COUNT(*) FROM hrp_cron_job r WHERE r.concurrency_key = ${keyExpr} AND r.running_worker IS NOT NULL))`;
}

/** Under the limits lock: counts what runs now (both sources) and claims only what the limits allow. */
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
      `SELECT (SELECT COUNT(*) FROM ir_cron WHERE queue = ? AND running_worker IS NOT NULL)
            + (SELECT COUNT(*) FROM hrp_cron_job WHERE queue = ? AND running_worker IS NOT NULL) AS n`,
      [plan.queue, plan.queue],
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
      `SELECT k, SUM(n) AS n FROM (
         SELECT concurrency_key AS k, COUNT(*) AS n FROM ir_cron
          WHERE running_worker IS NOT NULL AND concurrency_key IN (${placeholders(keys.length)}) GROUP BY concurrency_key
         UNION ALL
         SELECT concurrency_key, COUNT(*) FROM hrp_cron_job
          WHERE running_worker IS NOT NULL AND concurrency_key IN (${placeholders(keys.length)}) GROUP BY concurrency_key) x
       GROUP BY k`,
      [...keys, ...keys],
    );
    for (const c of counts) running.set(c.k, Number(c.n));
  }
  const chosen: Record<RunSource, number[]> = { cron: [], job: [] };
  let taken = 0;
  for (const row of rows) {
    if (taken >= allowed) break;
    if (row.concurrency_key !== null) {
      const n = running.get(row.concurrency_key) ?? 0;
      if (n >= (row.concurrency_limit ?? Infinity)) continue;
      running.set(row.concurrency_key, n + 1);
    }
    chosen[row.source].push(row.id);
    taken++;
  }
  const claimed: ClaimedRow[] = [];
  for (const source of ["cron", "job"] as const) {
    if (chosen[source].length === 0) continue;
    const t = tableOf(source);
    const { set, params } = claimSet(backend, source, workerId, now);
    claimed.push(
      ...(await backend.query<ClaimedRow>(
        m,
        `UPDATE ${t} SET ${set} WHERE ${backend.idIn("id")} AND ${stillReady(source, "")} ${claimReturning(source)}`,
        [...params, backend.idList(chosen[source])],
      )),
    );
  }
  return claimed;
}
