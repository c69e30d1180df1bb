import {
  defineJob,
  Dispatcher,
  JobQueue,
  ModelRegistry,
  ValidationError,
  type EnqueueOptions,
  type HrpCronJob,
  type JobEnv,
  type TypedJob,
} from "../../src";
import { BACKENDS, memoryLogger, openTestDb, type TestDb } from "../helpers";

/**
 * `enqueue`'s result type follows its options (ts-jest type-checks this
 * file, so a wrong overload fails it): a queued job, a job or null with
 * `deduplicate`, the method's value inline.
 */
describe.each(BACKENDS)("enqueue's result types, on %s", (kind) => {
  let db: TestDb;
  beforeEach(async () => {
    db = await openTestDb(kind);
  });
  afterEach(async () => {
    await db.close();
  });

  it("says what each kind of enqueue resolves with", async () => {
    const registry = new ModelRegistry().register("typed", { answer: (_env: JobEnv, n: number) => n * 2 });
    const jobs = new JobQueue(db.dataSource, { registry });
    const queued: HrpCronJob = await jobs.enqueue("typed.answer", { args: [1] });
    const keyed: HrpCronJob | null = await jobs.enqueue("typed.answer", { args: [2], jobId: "k", deduplicate: true });
    const skipped: HrpCronJob | null = await jobs.enqueue("typed.answer", { args: [3], jobId: "k", deduplicate: true });
    const inline: unknown = await jobs.enqueue("typed.answer", { args: [21], now: true });
    const options: EnqueueOptions = { args: [4] };
    const anyKind: HrpCronJob | null | unknown = await jobs.enqueue("typed.answer", options);
    const doc: HrpCronJob = await jobs.enqueueDoc("typed", 7, "answer", {});
    expect([queued.state, keyed?.state, skipped, inline, (anyKind as HrpCronJob).state, doc.queue]).toEqual([
      "pending",
      "pending",
      null,
      42,
      "pending",
      "long",
    ]);
  });

  it("a defineJob job checks its kwargs at compile time and returns its typed result", async () => {
    const createMove = defineJob("hrp.asset.receiving.createMove", async (env, kw: { ids: number[] }) => ({
      moveIds: kw.ids.map((id) => id * 100),
      uid: env.uid,
    }));
    const ping = defineJob("hrp.util.ping", () => "pong");
    const registry = new ModelRegistry().define(createMove, ping);
    const jobs = new JobQueue(db.dataSource, { registry });

    const job: TypedJob<{ moveIds: number[]; uid: number }> = await jobs.enqueue(createMove, {
      kwargs: { ids: [1, 2] },
    });
    const later = await jobs.enqueue(createMove, { kwargs: { ids: [3] }, delayMs: 60_000 });
    const pinged = await jobs.enqueue(ping); // no kwargs needed
    const inline: { moveIds: number[]; uid: number } = await jobs.enqueue(createMove, {
      kwargs: { ids: [5] },
      now: true,
    });
    const maybe: TypedJob<string> | null = await jobs.enqueue(ping, { jobId: "p", deduplicate: true });
    // @ts-expect-error kwargs are required and must match the method's
    await expect(jobs.enqueue(createMove, {})).resolves.toBeDefined();
    // @ts-expect-error a wrong kwargs type
    await jobs.enqueue(createMove, { kwargs: { ids: ["x"] } });
    // @ts-expect-error args are not for typed jobs (refused at run time too)
    await expect(jobs.enqueue(createMove, { kwargs: { ids: [] }, args: [1] })).rejects.toThrow(ValidationError);
    expect(inline.moveIds).toEqual([500]);

    await new Dispatcher(db.dataSource, registry, { logger: memoryLogger() }).runDue(); // two ill-typed calls fail
    const result = await jobs.getJobResult(job); // typed
    const moveIds: number[] = result.moveIds;
    expect(moveIds).toEqual([100, 200]);
    const pong: string = await jobs.getJobResult(pinged);
    expect([pong, maybe?.state, later.state]).toEqual(["pong", "pending", "pending"]);

    // A definition not registered in this queue's registry (or replaced there) is refused before anything is written.
    const stray = defineJob("hrp.util.stray", () => 1);
    await expect(jobs.enqueue(stray)).rejects.toThrow(/hrp\.util\.stray \(defineJob\) is not registered/);
    expect(() => defineJob("nodot", () => 1)).toThrow(ValidationError);
  });
});
