import type { HrpCronMigration } from "./migration";

/**
 * Lets the claim ask "is any ready row keyed?" without scanning every ready
 * row: without it that probe cost grew with the backlog.
 */
export const keyedDueIndex: HrpCronMigration = {
  name: "0005-keyed-due-index",
  async up({ run }) {
    await run(
      `CREATE INDEX ir_cron_keyed_due_idx ON ir_cron (nextcall) WHERE active = TRUE AND numbercall <> 0 AND running_worker IS NULL AND concurrency_key IS NOT NULL`,
    );
  },
};
