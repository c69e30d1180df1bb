import type { DataSource } from "typeorm";
import { HrpCronJobService, runAsUser, type HrpCronJob } from "hrp-cron";
import { AssetReceivingApplication } from "./entities";
import { APPLICATION_MODEL } from "./models";

/**
 * The business service: approving an application schedules its account move
 * 30 seconds later (`delayMs`), as the approving user, in the same
 * transaction as the approval — if the approval rolls back, no job exists.
 */
export async function approveApplications(
  dataSource: DataSource,
  service: HrpCronJobService,
  ids: number[],
  approverUid: number,
  delayMs = 30_000,
): Promise<HrpCronJob | null> {
  if (ids.length === 0) return null; // the seed's "len(args[0]) > 0" guard
  return runAsUser(approverUid, () =>
    dataSource.transaction(async (manager) => {
      await manager.update(AssetReceivingApplication, ids, { state: "approved", approvedUid: approverUid });
      return service.runByCron(
        "Create Asset Receiving Account Move",
        APPLICATION_MODEL,
        "createAssetAcceptanceAccountMove",
        [ids],
        10,
        undefined, // the ambient user: the approver
        new Date(Date.now() + delayMs),
        { manager },
      );
    }),
  );
}
