import type { EntityManager } from "typeorm";
import type { Backend } from "../backend";
import type { ClaimedRow } from "./dueBands";

/**
 * Hands claimed rows whose method this worker lacks back, unclaimed, in the
 * claim's transaction `m` — before their jobs were marked running, so this
 * counts no attempt and writes nothing else. `unservedSince`: null when a
 * live worker serves the method (clears the mark), else the time to record
 * unless an earlier one is there.
 */
export async function handBackUnknownMethodClaims(
  backend: Backend,
  m: EntityManager,
  rows: readonly ClaimedRow[],
  unservedSince: Date | null,
): Promise<void> {
  if (rows.length === 0) return;
  const mark = unservedSince === null ? "NULL" : "COALESCE(unserved_since, ?)";
  await backend.execute(
    m,
    `UPDATE ir_cron SET running_worker = NULL, running_since = NULL, unserved_since = ${mark} WHERE ${backend.idIn("id")}`,
    [
      ...(unservedSince === null ? [] : [backend.toDbDate(unservedSince)]),
      backend.idList(rows.map((row) => Number(row.id))),
    ],
  );
}
