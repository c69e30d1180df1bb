import { JobQueue, ModelRegistry, type EnqueueOptions, type HrpCronJob, type JobEnv } from "../../src";
import { BACKENDS, openTestDb, type TestDb } from "../helpers";

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
});
