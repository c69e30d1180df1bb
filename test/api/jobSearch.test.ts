import { Dispatcher, JobAdmin, JobQueue, ModelRegistry, ValidationError, type JobEnv } from "../../src";
import { BACKENDS, memoryLogger, openTestDb, type TestDb } from "../helpers";

/** Finding jobs as an operator does: by an argument's value, by error text, page after page by keyset. */
describe.each(BACKENDS)("job search on %s", (kind) => {
  let db: TestDb;
  const registry = new ModelRegistry().register("hrp.ward", {
    async admit(_env: JobEnv, kw: { patient_id: number | string; urgent?: boolean; bed?: { code: string } }) {
      if (kw.urgent) throw new Error(`bed ${kw.bed?.code ?? "?"} is TAKEN`);
    },
    async move(_env: JobEnv, _id: number, _kw: { to: string }) {},
  });
  beforeEach(async () => {
    db = await openTestDb(kind);
  });
  afterEach(() => db.close());

  async function given() {
    const queue = new JobQueue(db.dataSource, { registry });
    const ids = {
      p42: (await queue.enqueue("hrp.ward.admit", { kwargs: { patient_id: 42, bed: { code: "A-1" } } }))!.id,
      p42text: (await queue.enqueue("hrp.ward.admit", { kwargs: { patient_id: "42" } }))!.id,
      p7urgent: (await queue.enqueue("hrp.ward.admit", { kwargs: { patient_id: 7, urgent: true } }))!.id,
      move: (await queue.enqueue("hrp.ward.move", { args: [42, { to: "ICU" }] }))!.id,
    };
    await new Dispatcher(db.dataSource, registry, { logger: memoryLogger() }).runDue();
    return ids;
  }

  it("finds jobs by a keyword argument, a nested key, a positional argument and a boolean, comparing as text", async () => {
    const ids = await given();
    const admin = new JobAdmin(db.dataSource);
    const find = async (path: string, equals: string | number | boolean) =>
      (await admin.listJobs({ args: { path, equals } })).map((j) => j.id);
    expect(await find("patient_id", 42)).toEqual([ids.p42text, ids.p42]);
    expect(await find("patient_id", "7")).toEqual([ids.p7urgent]);
    expect(await find("bed.code", "A-1")).toEqual([ids.p42]);
    expect(await find("urgent", true)).toEqual([ids.p7urgent]);
    expect(await find("0", 42)).toEqual([ids.move]); // enqueueDoc-style positional id
    expect(await find("to", "ICU")).toEqual([ids.move]); // kwargs are the last argument
    expect(await find("patient_id", 999)).toEqual([]);
  });

  it("finds failed jobs by error text, ignoring case, and combines it with other filters", async () => {
    const ids = await given();
    const admin = new JobAdmin(db.dataSource);
    expect((await admin.listJobs({ errorContains: "is taken" })).map((j) => j.id)).toEqual([ids.p7urgent]);
    expect(await admin.listJobs({ errorContains: "is taken", state: "done" })).toEqual([]);
    expect(await admin.listJobs({ errorContains: "100%" })).toEqual([]);
  });

  it("pages newest first by keyset: each page starts below the last id of the one before, with nothing skipped or repeated", async () => {
    const queue = new JobQueue(db.dataSource, { registry });
    const all: number[] = [];
    for (let n = 0; n < 23; n++) all.push((await queue.enqueue("hrp.ward.admit", { kwargs: { patient_id: n } }))!.id);
    const admin = new JobAdmin(db.dataSource);
    const seen: number[] = [];
    let beforeId: number | undefined;
    for (;;) {
      const page = await admin.listJobs({ limit: 10, beforeId });
      if (page.length === 0) break;
      seen.push(...page.map((j) => j.id));
      beforeId = page[page.length - 1].id;
    }
    expect(seen).toEqual([...all].reverse());
  });

  it("refuses a bad path, value, error text or page position by name", async () => {
    const admin = new JobAdmin(db.dataSource);
    const bad = [
      { args: { path: "a..b", equals: 1 } },
      { args: { path: "x; DROP TABLE hrp_cron_job", equals: 1 } },
      { args: { path: "a", equals: { x: 1 } as never } },
      { args: { path: "a", equals: 1, extra: 1 } as never },
      { errorContains: "" },
      { beforeId: 0 },
    ];
    for (const filter of bad) await expect(admin.listJobs(filter)).rejects.toThrow(ValidationError);
  });
});
