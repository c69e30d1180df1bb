import type { HrpCronMigration } from "./migration";

/**
 * `hrp_cron_action`: the operator action log. One row per operator action
 * (retry, cancel, stop, purge, activate, ...) from the API, the CLI or the
 * dashboard, written in the same transaction as the change it records, so
 * a change that rolled back left no row and every row's change happened.
 * Purge never deletes it.
 */
export const operatorActions: HrpCronMigration = {
  name: "0018-operator-actions",
  async up({ ddl, run }) {
    await run(`CREATE TABLE hrp_cron_action (
      id ${ddl.serialPrimaryKey},
      created_at ${ddl.timestamp} NOT NULL,
      action varchar(32) NOT NULL,
      target_type varchar(16) NOT NULL,
      target_id integer,
      target_ids text,
      filter text,
      affected integer NOT NULL,
      actor varchar(256) NOT NULL,
      source varchar(16) NOT NULL,
      ip varchar(64),
      user_agent varchar(512),
      reason text,
      outcome text NOT NULL
    )`);
    await run(`CREATE INDEX hrp_cron_action_created_idx ON hrp_cron_action (created_at)`);
    await run(`CREATE INDEX hrp_cron_action_actor_idx ON hrp_cron_action (actor, created_at)`);
    await run(`CREATE INDEX hrp_cron_action_action_idx ON hrp_cron_action (action, created_at)`);
    await run(`CREATE INDEX hrp_cron_action_target_idx ON hrp_cron_action (target_type, target_id)`);
  },
};
