import type { HrpCronMigration } from "./migration";

/**
 * State for poison jobs and Odoo's trigger semantics, on `ir_cron`:
 *
 * - `crash_count`: worker deaths attributed to this cron (its run was the
 *   only one of its worker, with `suspect_started` committed); at the
 *   queue's `maxCrashes` the run is failed instead of released again.
 * - `suspect`: its claim died with its worker while other claims of the
 *   same batch did too, so the death could not be attributed; it next runs
 *   alone, after committing `suspect_started`.
 * - `suspect_started`: committed just before a suspect's lone run starts
 *   and cleared whenever its claim ends; a dead worker's claim with it set
 *   was killed by this very run.
 * - `planned_nextcall`: the schedule's own next call while `nextcall` was
 *   moved forward by `trigger` (or by the cron re-triggering itself); the
 *   run after it resumes the schedule from here, so a trigger never shifts
 *   the cron's phase.
 * - `retrigger`: set by the cron's own run (`trigger(env.cronId)`) in its
 *   transaction: "more work remains", so its bookkeeping makes it due again
 *   at once.
 */
export const crashAndTriggerState: HrpCronMigration = {
  name: "0008-crash-and-trigger-state",
  async up({ run, ddl }) {
    await run(`ALTER TABLE ir_cron ADD COLUMN crash_count integer NOT NULL DEFAULT 0`);
    await run(`ALTER TABLE ir_cron ADD COLUMN suspect boolean NOT NULL DEFAULT FALSE`);
    await run(`ALTER TABLE ir_cron ADD COLUMN suspect_started boolean NOT NULL DEFAULT FALSE`);
    await run(`ALTER TABLE ir_cron ADD COLUMN planned_nextcall ${ddl.timestamp}`);
    await run(`ALTER TABLE ir_cron ADD COLUMN retrigger boolean NOT NULL DEFAULT FALSE`);
  },
};
