import type { EntityManager } from "typeorm";
import type { Backend } from "../backend";
import type { HrpCronJobState } from "../schema/entities/HrpCronJob";
import { jobFilterSql, type JobFilter } from "./jobFilter";

/** The SQL of operators' actions on every job matching a filter (bulk retry and cancel). */

/** Which jobs a bulk action acts on: a job listing's filter, without its paging. */
export type BulkJobFilter = Omit<JobFilter, "limit" | "beforeId">;

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
  const f = jobFilterSql(backend, filter);
  const where = [`state IN (${states.map(() => "?").join(", ")})`, "running_worker IS NULL", ...f.where];
  const params: unknown[] = [...states, ...f.params];
  const rows = await backend.query<{ id: unknown }>(
    m,
    `SELECT id FROM hrp_cron_job WHERE ${where.join(" AND ")} ORDER BY id LIMIT ?`,
    [...params, limit],
  );
  return rows.map((r) => Number(r.id));
}
