import type { HrpCronJob } from "../../schema/entities/HrpCronJob";
import type { RunResult } from "../../core/types";
import { renderTable } from "../table";

/** Tables several commands print. */

export function runsTable(results: readonly RunResult[]): string {
  return renderTable(
    ["run", "cron", "job", "name", "method", "user", "outcome", "calls", "error"],
    results.map((r) => [
      r.runLogId,
      r.cronId,
      r.jobId,
      r.name,
      `${r.model}.${r.function}`,
      r.userId,
      r.outcome,
      r.calls,
      r.error,
    ]),
  );
}

export function jobsTable(jobs: readonly HrpCronJob[]): string {
  return renderTable(
    ["job", "name", "method", "queue", "user", "prio", "state", "tries", "due", "started", "done", "error"],
    jobs.map((j) => [
      j.id,
      j.name,
      `${j.model}.${j.function}`,
      j.queue,
      j.userId,
      j.priority,
      j.state,
      j.attempts,
      j.dateCreated,
      j.dateStarted,
      j.dateDone,
      j.excInfo,
    ]),
  );
}
