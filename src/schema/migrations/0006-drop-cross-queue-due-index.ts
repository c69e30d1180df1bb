import type { HrpCronMigration } from "./migration";

/**
 * Drops ir_cron_due_idx (priority, nextcall, id over ready rows). Since
 * queues (0002) every claim reads one queue through ir_cron_queue_due_idx,
 * and the cross-queue index only misled PostgreSQL's planner: for a queue
 * with no ready rows it walked the whole cross-queue index (every
 * future-dated row) looking for that queue. One index fewer to write, too.
 */
export const dropCrossQueueDueIndex: HrpCronMigration = {
  name: "0006-drop-cross-queue-due-index",
  async up({ run }) {
    await run(`DROP INDEX ir_cron_due_idx`);
  },
};
