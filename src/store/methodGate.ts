import type { EntityManager } from "typeorm";
import type { Backend } from "../backend";
import { sourceOfRow, type ClaimedRow } from "./dueBands";
import { tableOf } from "./runSource";

/**
 * Hands claimed rows whose method this worker lacks back, unclaimed, in the
 * claim's transaction `m` (a job `pending` again, as before its claim), so
 * this counts no attempt and writes nothing else. `unservedSince`: null when
 * a live worker serves the method (clears the mark), else the time to record
 * unless an earlier one is there.
 */
export async function handBackUnknownMethodClaims(
  backend: Backend,
  m: EntityManager,
  rows: readonly ClaimedRow[],
  unservedSince: Date | null,
): Promise<void> {
  const mark = unservedSince === null ? "NULL" : "COALESCE(unserved_since, ?)";
  for (const source of ["cron", "job"] as const) {
    const ids = rows.filter((row) => sourceOfRow(row) === source).map((row) => Number(row.id));
    if (ids.length === 0) continue;
    await backend.execute(
      m,
      `UPDATE ${tableOf(source)} SET running_worker = NULL, running_since = NULL, unserved_since = ${mark}${
        source === "job" ? ", state = 'pending', date_started = NULL" : ""
      } WHERE ${backend.idIn("id")}`,
      [...(unservedSince === null ? [] : [backend.toDbDate(unservedSince)]), backend.idList(ids)],
    );
  }
}
