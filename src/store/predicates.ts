/**
 * SQL predicates that several statements share, written once. Each is the
 * predicate of a partial index, so a statement must repeat it term by term
 * for SQLite to use that index (PostgreSQL proves the implication itself).
 */

/** Unclaimed rows that can run: the predicate of the ready indexes (`ir_cron_queue_due_idx`, `ir_cron_keyed_due_idx`). `alias`: `"c."` for a table alias. */
export function ready(alias = ""): string {
  return `${alias}active = TRUE AND ${alias}numbercall <> 0 AND ${alias}running_worker IS NULL`;
}

/** {@link ready} without an alias. */
export const READY = ready();

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
