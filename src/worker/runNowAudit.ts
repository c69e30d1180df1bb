import type { Backend } from "../backend";
import type { Operator } from "../core/operator";
import { recordAction } from "../store/actions";
import type { OnClaimed } from "../store/claims";

/**
 * The operator action log's row of a manual run (`Dispatcher.runNow` /
 * `runJob`), written in the run's claim transaction: the row exists exactly
 * when the run was claimed; how it ended is its run's own record.
 */
export function runNowAudit(backend: Backend, now: () => Date, workerId: string, by: Operator): OnClaimed {
  return (m, { cron }) =>
    recordAction(backend, m, by, now(), {
      action: "run_now",
      targetType: cron.hrpCronJobId === null ? "cron" : "job",
      targetId: cron.hrpCronJobId ?? cron.id,
      affected: 1,
      outcome: `${cron.model}.${cron.function} started by ${workerId}`,
    });
}
