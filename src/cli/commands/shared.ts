import type { HrpCronJob } from "../../schema/entities/HrpCronJob";
import type { RunResult } from "../../core/types";
import { renderTable } from "../table";

/** Tables several commands print; users show as logins (`logins`: id → login, from `JobAdmin.userLogins`). */

export type Logins = ReadonlyMap<number, string>;

/** The login of user `id`, or its id when the users could not be read. */
export const loginOf = (logins: Logins, id: number): string => logins.get(id) ?? String(id);

export function runsTable(results: readonly RunResult[], logins: Logins): string {
  return renderTable(
    ["run", "cron", "job", "method", "user", "outcome", "calls", "error"],
    results.map((r) => [
      r.runLogId,
      r.cronId,
      r.jobId,
      `${r.model}.${r.function}`,
      loginOf(logins, r.userId),
      r.outcome,
      r.calls,
      r.error,
    ]),
  );
}

export function jobsTable(jobs: readonly HrpCronJob[], logins: Logins): string {
  return renderTable(
    ["job", "state", "queue", "method", "user", "tries", "due (UTC)", "error"],
    jobs.map((j) => [
      j.id,
      j.state === "running" && j.progressDone !== null
        ? `running ${progressText(j.progressDone, j.progressTotal)}`
        : j.state,
      j.queue,
      `${j.model}.${j.function}`,
      loginOf(logins, j.userId),
      j.attempts,
      j.dateCreated,
      j.excInfo,
    ]),
  );
}

/** `40/100 (40%)`, or `40` without a total. */
export function progressText(done: number, total: number | null): string {
  if (total === null) return String(done);
  return `${done}/${total}${total > 0 ? ` (${Math.floor((done * 100) / total)}%)` : ""}`;
}
