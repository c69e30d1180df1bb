import type { EntityManager } from "typeorm";
import type { Backend } from "../backend";
import type { HrpCronJobState } from "../schema/entities/HrpCronJob";
import type { JobFilter } from "./listings";

/** The SQL of operators' actions on every job matching a filter (bulk retry and cancel). */

/** Which jobs a bulk action acts on: a job listing's filter (without its limit) and the text of their last error. */
export interface BulkJobFilter extends Omit<JobFilter, "limit"> {
  /** Jobs whose last error (`exc_info`, message and stack) contains this text, ignoring case. */
  readonly errorContains?: string;
}

/**
 * Ids of the unclaimed jobs in one of `states` that match `filter`, oldest
 * first, at most `limit`.
 */
export async function matchingJobIds(
  backend: Backend,
  m: EntityManager,
  states: readonly HrpCronJobState[],
  filter: BulkJobFilter,
  limit: number,
): Promise<number[]> {
  const where = [`state IN (${states.map(() => "?").join(", ")})`, "running_worker IS NULL"];
  const params: unknown[] = [...states];
  const add = (condition: string, value: unknown) => {
    if (value === undefined) return;
    where.push(condition);
    params.push(value);
  };
  add("state = ?", filter.state);
  add("queue = ?", filter.queue);
  add("model = ?", filter.model);
  add("function = ?", filter.function);
  add("user_id = ?", filter.userId);
  add("date_created >= ?", filter.since && backend.toDbDate(filter.since));
  add("date_created < ?", filter.until && backend.toDbDate(filter.until));
  // A substring test alike on both databases: LIKE on lowered text, the text's own wildcards escaped.
  add(
    "LOWER(exc_info) LIKE ? ESCAPE '\\'",
    filter.errorContains === undefined
      ? undefined
      : `%${filter.errorContains.toLowerCase().replace(/[\\%_]/g, "\\$&")}%`,
  );
  const rows = await backend.query<{ id: unknown }>(
    m,
    `SELECT id FROM hrp_cron_job WHERE ${where.join(" AND ")} ORDER BY id LIMIT ?`,
    [...params, limit],
  );
  return rows.map((r) => Number(r.id));
}
