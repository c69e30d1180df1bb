import { randomUUID } from "node:crypto";
import { Dispatcher, HrpCronJobService } from "../src";
import { approveApplications } from "../examples/asset-receiving/app";
import {
  AccountMove,
  AppUser,
  AssetReceivingApplication,
  EXAMPLE_ENTITIES,
} from "../examples/asset-receiving/entities";
import { exampleRegistry } from "../examples/asset-receiving/models";
import { CreateAssetReceivingTables1767225600000 } from "../examples/asset-receiving/migrations";
import { appUserResolver } from "../examples/asset-receiving/users";
import { BACKENDS, fixedClock, memoryLogger, openTestDb, type TestDb } from "./helpers";

describe.each(BACKENDS)("asset-receiving example on %s", (kind) => {
  let db: TestDb;
  beforeEach(async () => {
    db = await openTestDb(kind, EXAMPLE_ENTITIES);
    // The example's own tables, from its own TypeORM migration.
    const runner = db.dataSource.createQueryRunner();
    await new CreateAssetReceivingTables1767225600000().up(runner);
    await runner.release();
    // Its own users: jobs run as them through appUserResolver (hrp-cron's res_users is not used).
    await db.dataSource.manager.save(AppUser, [
      { username: "system", fullName: "System", enabled: true, tz: null, uuid: randomUUID() },
      { username: "approver", fullName: "Approver", enabled: true, tz: "Asia/Shanghai", uuid: randomUUID() },
    ]);
  });
  const userResolver = appUserResolver;
  afterEach(() => db.close());

  it("approval schedules the account move 30 s later, as the approver, and the job posts it", async () => {
    const registry = exampleRegistry();
    const service = new HrpCronJobService(db.dataSource, { registry, userResolver });
    const m = db.dataSource.manager;
    const approver = await m.findOneByOrFail(AppUser, { username: "approver" });
    const [app] = await m.save(AssetReceivingApplication, [
      { name: "ARA-1", amount: 100, state: "draft" as const, approvedUid: null },
    ]);

    const before = Date.now();
    const job = await approveApplications(db.dataSource, service, [app.id], approver.id);
    expect(job!.userId).toBe(approver.id);
    expect(job!.dateCreated.getTime()).toBeGreaterThanOrEqual(before + 30_000);
    expect(await approveApplications(db.dataSource, service, [], approver.id)).toBeNull();

    const clock = fixedClock(new Date(before + 10_000));
    const dispatcher = new Dispatcher(db.dataSource, registry, {
      now: clock.now,
      logger: memoryLogger(),
      userResolver,
    });
    expect(await dispatcher.runDue()).toEqual([]); // not due yet
    clock.set(new Date(job!.dateCreated.getTime() + 1));
    const [result] = await dispatcher.runDue();
    expect(result.outcome).toBe("done");

    const moves = await m.find(AccountMove);
    expect(moves.map((x) => [x.ref, x.createUid])).toEqual([["AM/ARA-1", approver.id]]);
    expect((await m.findOneByOrFail(AssetReceivingApplication, { id: app.id })).state).toBe("posted");
    expect((await service.getJob(job!.id)).state).toBe("done");
  });

  it("a failing application rolls back its writes and records why", async () => {
    const registry = exampleRegistry();
    const service = new HrpCronJobService(db.dataSource, { registry, userResolver });
    const m = db.dataSource.manager;
    const apps = await m.save(AssetReceivingApplication, [
      { name: "ARA-OK", amount: 100, state: "draft" as const, approvedUid: null },
      { name: "ARA-ZERO", amount: 0, state: "draft" as const, approvedUid: null },
    ]);
    // Both in one job: the good one's move must roll back with the failure.
    const job = await approveApplications(
      db.dataSource,
      service,
      apps.map((a) => a.id),
      1,
      0,
    );
    const dispatcher = new Dispatcher(db.dataSource, registry, { logger: memoryLogger(), userResolver });
    const [result] = await dispatcher.runDue();
    expect(result.outcome).toBe("failed");
    expect(await m.count(AccountMove)).toBe(0);
    const failed = await service.getJob(job!.id);
    expect(failed.state).toBe("failed");
    expect(failed.excInfo).toMatch(/ARA-ZERO has amount 0/);
  });

  it("an approval that rolls back leaves no job", async () => {
    const service = new HrpCronJobService(db.dataSource, { registry: exampleRegistry(), userResolver });
    const m = db.dataSource.manager;
    const [app] = await m.save(AssetReceivingApplication, [
      { name: "ARA-RB", amount: 100, state: "draft" as const, approvedUid: null },
    ]);
    await expect(
      db.dataSource.transaction(async (manager) => {
        await service.runByCron(
          "Create Asset Receiving Account Move",
          "hrp.asset.receiving.application",
          "createAssetAcceptanceAccountMove",
          [[app.id]],
          10,
          1,
          undefined,
          { manager },
        );
        throw new Error("approval refused");
      }),
    ).rejects.toThrow("approval refused");
    expect(await service.listJobs()).toEqual([]);
    expect(await service.listCrons()).toEqual([]);
  });
});
