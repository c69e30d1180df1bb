import type { HrpCronMigration } from "./migration";

/**
 * `ir_cron.nextcall_wall`: the wall-clock time (`YYYY-MM-DDTHH:MM:SS.SSS`,
 * in the cron's zone) that `nextcall` stands for when a DST gap skipped it
 * and `nextcall` was moved forward by the gap; null otherwise. Without it a
 * daily 02:30 cron moved to 03:30 on the day clocks spring forward could not
 * tell that it belongs at 02:30 the next day.
 */
export const nextcallWall: HrpCronMigration = {
  name: "0011-nextcall-wall",
  async up({ run }) {
    await run(`ALTER TABLE ir_cron ADD COLUMN nextcall_wall varchar(23)`);
  },
};
