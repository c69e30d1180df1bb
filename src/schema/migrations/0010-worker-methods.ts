import type { HrpCronMigration } from "./migration";

/**
 * Rolling deploys: a worker says which methods it serves, and a cron whose
 * method no live worker serves remembers since when.
 *
 * - `hrp_cron_worker.methods`: JSON array of the `model.method` names in the
 *   worker's registry when it registered (null: a worker that does not say).
 * - `ir_cron.unserved_since`: when a worker first handed the cron back because
 *   no live worker served its method; cleared when one does. After
 *   `unknownMethodGraceMs` it fails with "Method `model.fn` does not exist".
 */
export const workerMethods: HrpCronMigration = {
  name: "0010-worker-methods",
  async up({ run, ddl }) {
    await run(`ALTER TABLE hrp_cron_worker ADD COLUMN methods text`);
    await run(`ALTER TABLE ir_cron ADD COLUMN unserved_since ${ddl.timestamp}`);
  },
};
