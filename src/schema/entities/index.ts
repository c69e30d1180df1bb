import { HrpCronJob } from "./HrpCronJob";
import { HrpCronRunLog } from "./HrpCronRunLog";
import { HrpCronWorker } from "./HrpCronWorker";
import { IrCron } from "./IrCron";
import { ResUsers } from "./ResUsers";
import { ScheduledJobLog, ScheduledJobType } from "./ScheduledJobType";

export { HrpCronJob, HRP_CRON_JOB_STATES } from "./HrpCronJob";
export type { HrpCronJobState } from "./HrpCronJob";
export { HrpCronRunLog } from "./HrpCronRunLog";
export type { RunOutcome } from "./HrpCronRunLog";
export type { HrpCronRun } from "./HrpCronRun";
export { HrpCronWorker } from "./HrpCronWorker";
export { IrCron } from "./IrCron";
export { ResUsers } from "./ResUsers";
export { ScheduledJobLog, ScheduledJobType } from "./ScheduledJobType";

/**
 * Every entity hrp-cron needs; add them to your DataSource's `entities`.
 * Each is declared `synchronize: false`: their tables come from hrp-cron's
 * migrations (`migrate()` or {@link TYPEORM_MIGRATIONS}), so the
 * application's schema tooling (`synchronize`, `migration:generate`) leaves
 * them alone.
 */
export const ENTITIES = [IrCron, HrpCronJob, HrpCronRunLog, HrpCronWorker, ResUsers, ScheduledJobType, ScheduledJobLog];
