/**
 * SQL predicates that several statements share, written once. Each is the
 * predicate of a partial index, so a statement must repeat it term by term
 * for SQLite to use that index (PostgreSQL proves the implication itself).
 */

/**
 * Unclaimed recurring crons that can run: the predicate of `ir_cron`'s ready
 * indexes (`ir_cron_queue_due_idx`, `ir_cron_keyed_due_idx`, migration
 * 0014). A job's `ir_cron` row is never claimed (its job row is).
 * `alias`: `"c."` for a table alias.
 */
export function ready(alias = ""): string {
  return `${alias}active = TRUE AND ${alias}numbercall <> 0 AND ${alias}running_worker IS NULL AND ${alias}hrp_cron_job_id IS NULL`;
}

/** {@link ready} without an alias. */
export const READY = ready();

/**
 * Jobs that can run: the predicate of `hrp_cron_job`'s ready indexes
 * (`hrp_cron_job_ready_idx`, `hrp_cron_job_keyed_ready_idx`). A pending job
 * is never claimed: the claim moves it to `running` in the same write.
 */
export function jobReady(alias = ""): string {
  return `${alias}state = 'pending'`;
}

/** The ready predicate of `source`'s table. */
export function readyIn(source: "cron" | "job", alias = ""): string {
  return source === "cron" ? ready(alias) : jobReady(alias);
}

/** Crons with runs left (active, `numbercall` not spent), claimed or not. */
export const RUNNABLE = "active = TRUE AND numbercall <> 0";

/** SQL: `AND` a row's method is none of `skip` (one `?` each), or nothing when `skip` is empty. */
export function methodNotIn(alias: string, skip: readonly string[]): string {
  return skip.length === 0
    ? ""
    : ` AND (${alias}model || '.' || ${alias}function) NOT IN (${skip.map(() => "?").join(", ")})`;
}

/** `n` placeholders for an `IN (...)` list of variable length. */
export function placeholders(n: number): string {
  return Array.from({ length: n }, () => "?").join(", ");
}

/**
 * SQL: `AND` the row's queue is not paused (`hrp_cron_queue_state`,
 * migration 0020). Every claim statement carries it, so a pause holds for
 * every worker from its commit on. `alias` qualifies the row's `queue`
 * (`"c."`, `"hrp_cron_job."`): it is required, since the subquery's own
 * table has a `queue` column that an unqualified name would mean.
 */
export function queueNotPaused(alias: string): string {
  return ` AND NOT EXISTS (SELECT 1 FROM hrp_cron_queue_state qs WHERE qs.queue = ${alias}queue AND qs.paused = TRUE)`;
}
