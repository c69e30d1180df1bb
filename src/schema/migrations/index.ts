import { initialSchema } from "./0001-initial-schema";
import { queues } from "./0002-queues";
import { jobCallbacks } from "./0003-job-callbacks";
import { scheduler } from "./0004-scheduler";
import { keyedDueIndex } from "./0005-keyed-due-index";
import { dropCrossQueueDueIndex } from "./0006-drop-cross-queue-due-index";
import { leanAuditIndexes } from "./0007-lean-audit-indexes";
import { crashAndTriggerState } from "./0008-crash-and-trigger-state";
import { userKey } from "./0009-user-key";
import { workerMethods } from "./0010-worker-methods";
import { nextcallWall } from "./0011-nextcall-wall";
import { runsView } from "./0012-runs-view";
import { oneRowJobs } from "./0014-one-row-jobs";
import { leanJobIndexes } from "./0015-lean-job-indexes";
import { jobResults } from "./0016-job-results";
import { jobTraceContext } from "./0017-job-trace-context";
import { operatorActions } from "./0018-operator-actions";
import { jobProgress } from "./0019-job-progress";
import { queuePause } from "./0020-queue-pause";
import type { HrpCronMigration } from "./migration";

export type { HrpCronMigration, MigrationContext } from "./migration";

/**
 * Every hrp-cron migration, oldest first.
 * Append a new entry; never edit, reorder or remove an existing one.
 */
export const MIGRATIONS: readonly HrpCronMigration[] = [
  initialSchema,
  queues,
  jobCallbacks,
  scheduler,
  keyedDueIndex,
  dropCrossQueueDueIndex,
  leanAuditIndexes,
  crashAndTriggerState,
  userKey,
  workerMethods,
  nextcallWall,
  runsView,
  oneRowJobs,
  leanJobIndexes,
  jobResults,
  jobTraceContext,
  operatorActions,
  jobProgress,
  queuePause,
];
