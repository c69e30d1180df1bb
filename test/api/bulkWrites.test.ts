import {
  HrpCronJobService,
  InvalidUserError,
  JobQueue,
  ModelRegistry,
  UnknownMethodError,
  UnknownQueueError,
  ValidationError,
  backendFor,
} from "../../src";
import { HrpCronJob, IrCron } from "../../src/schema/entities";
import { insertJobs, type NewJob, type NewJobSchedule } from "../../src/store/jobs";
import { MAX_CHUNK_ARGS_CHARS, MAX_CHUNK_JOBS } from "../../src/store/newJobRows";
import { BACKENDS, count, fixedClock, openTestDb, type TestDb } from "../helpers";
import { statementsDuring } from "../statementCount";

/**
 * Issue 14 (bulk enqueue): how `enqueueBulk` and `runByCronBulk` write.
 * One INSERT statement per chunk on PostgreSQL (a data-modifying WITH writes
 * every job's row and a runByCron job's ir_cron record; SQLite runs one
 * statement per table), chunks bounded in jobs and in
 * bytes of args, and the exact rows of every job whatever the other jobs of
 * its bulk look like (jobs are sent grouped by "shape": every column but args).
 */
describe.each(BACKENDS)("bulk writes on %s", (kind) => {
  let db: TestDb;
  const clock = fixedClock("2026-05-04T08:00:00Z");
  const registry = new ModelRegistry().register("app.work", { noop() {}, other() {} });
  let jobs: JobQueue;
  let service: HrpCronJobService;
  /** INSERT statements per chunk of queue jobs: one (their job rows; queue jobs have no ir_cron row). */
  const queuePerChunk = 1;
  /** INSERT statements per chunk of runByCron jobs: one on PostgreSQL, two (job rows, then their ir_cron records) on SQLite. */
  const cronPerChunk = kind === "postgres" ? 1 : 2;
  const inserts = (work: () => Promise<unknown>) =>
    statementsDuring(db, /INSERT INTO (hrp_cron_job|ir_cron)\b/, work).then((s) => s.length);

  beforeEach(async () => {
    db = await openTestDb(kind);
    jobs = new JobQueue(db.dataSource, { registry, now: clock.now });
    service = new HrpCronJobService(db.dataSource, { registry, now: clock.now });
  });
  afterEach(() => db.close());

  /** Every job has its own hrp_cron_job row (matched by id and args); a runByCron job one ir_cron row pointing to it, a queue job none. */
  async function expectWritten(saved: HrpCronJob[], args: string[], withCronRows: boolean) {
    expect(saved.map((j) => j.args)).toEqual(args);
    const ids = saved.map((j) => j.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids); // ids drawn in the order given
    const stored = new Map((await db.dataSource.manager.find(HrpCronJob)).map((j) => [j.id, j.args]));
    expect(ids.map((id) => stored.get(id))).toEqual(args);
    const crons = await db.dataSource.manager.find(IrCron);
    expect(crons.map((c) => c.hrpCronJobId).sort((a, b) => a! - b!)).toEqual(withCronRows ? ids : []);
    expect(crons.every((c) => c.args === stored.get(c.hrpCronJobId!))).toBe(true);
  }

  it("enqueueBulk and runByCronBulk write a bulk with one INSERT statement on PostgreSQL", async () => {
    const queued = jobs.enqueueBulk(
      Array.from({ length: 10 }, (_, i) => ({ method: "app.work.noop", options: { args: [i] } })),
    );
    expect(await inserts(() => queued)).toBe(queuePerChunk);
    const scheduled = service.runByCronBulk(
      Array.from({ length: 10 }, (_, i) => ({ name: "n", model: "app.work", function: "noop", args: [i] })),
    );
    expect(await inserts(() => scheduled)).toBe(cronPerChunk);
    expect(await count(db, "hrp_cron_job")).toBe(20);
    expect(await count(db, "ir_cron")).toBe(10);
  });

  it("enqueue and runByCron write their job's rows with one INSERT statement on PostgreSQL too", async () => {
    expect(await inserts(() => jobs.enqueue("app.work.noop", { args: [1] }))).toBe(queuePerChunk);
    expect(await inserts(() => service.runByCron("n", "app.work", "noop", [2]))).toBe(cronPerChunk);
    expect(await count(db, "ir_cron")).toBe(1);
  });

  it(`cuts a bulk into chunks of at most ${MAX_CHUNK_JOBS} jobs, one statement each, ids and rows in order`, async () => {
    const n = MAX_CHUNK_JOBS + 3;
    const args = Array.from({ length: n }, (_, i) => `[${i}]`);
    let saved: HrpCronJob[] = [];
    const statements = await inserts(async () => {
      saved = await service.runByCronBulk(
        args.map((_, i) => ({ name: `n${i % 3}`, model: "app.work", function: "noop", args: [i] })),
      );
    });
    expect(statements).toBe(2 * cronPerChunk);
    await expectWritten(saved, args, true);
  });

  it("cuts a bulk by the size of its args too", async () => {
    const big = "x".repeat(Math.ceil(MAX_CHUNK_ARGS_CHARS / 2.5)); // two fit in a chunk, three do not
    const calls = ["a", "b", "c"].map((k) => ({ method: "app.work.noop", options: { args: [k, big] } }));
    let saved: HrpCronJob[] = [];
    const statements = await inserts(async () => {
      saved = await jobs.enqueueBulk(calls);
    });
    expect(statements).toBe(2 * queuePerChunk);
    await expectWritten(
      saved,
      ["a", "b", "c"].map((k) => JSON.stringify([k, big])),
      false,
    );
  });

  it("writes each job's own columns, whatever the other jobs of its bulk share with it", async () => {
    // A job, then for every column one job differing from it in that column only.
    const base: NewJob = {
      name: "n",
      model: "app.work",
      function: "noop",
      args: "[]",
      priority: 10,
      userId: 1,
      userKey: "admin",
      dateCreated: new Date("2026-05-04T08:00:00Z"),
      state: "pending",
      dateStarted: null,
      dateDone: null,
      excInfo: null,
      createUid: 1,
      createDate: new Date("2026-05-04T08:00:00Z"),
      kind: "queue",
      jobKey: null,
      maxRetries: 0,
      attempts: 0,
      retryBackoffMs: "[1000]",
      workerId: null,
      onSuccess: null,
      onFailure: null,
      queue: "default",
      timeoutMs: 1000,
      concurrencyKey: null,
      concurrencyLimit: null,
      traceContext: null,
    };
    const other: { [K in keyof NewJob]: NewJob[K] } = {
      name: "m",
      model: "app.other",
      function: "other",
      args: "[1]",
      priority: 11,
      userId: 2,
      userKey: "u2",
      dateCreated: new Date("2026-05-04T08:00:01Z"),
      state: "cancelled",
      dateStarted: new Date("2026-05-04T08:00:02Z"),
      dateDone: new Date("2026-05-04T08:00:03Z"),
      excInfo: "boom",
      createUid: 2,
      createDate: new Date("2026-05-04T08:00:04Z"),
      kind: "cron",
      jobKey: "k",
      maxRetries: 1,
      attempts: 1,
      retryBackoffMs: "[2000]",
      workerId: "w",
      onSuccess: "app.work.other",
      onFailure: "app.work.other",
      queue: "long",
      timeoutMs: 2000,
      concurrencyKey: "c",
      concurrencyLimit: 2,
      traceContext: '{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}',
    };
    const schedule: NewJobSchedule = { nextcall: new Date("2026-05-04T08:00:00Z"), doall: false };
    const variants: Array<[string, NewJob, NewJobSchedule]> = [["base", base, schedule]];
    for (const key of Object.keys(other) as Array<keyof NewJob>)
      variants.push([key, { ...base, [key]: other[key] }, schedule]);
    variants.push(
      ["nextcall", base, { ...schedule, nextcall: new Date(0) }],
      ["doall", base, { ...schedule, doall: true }],
    );
    // Each variant right after the base job and right before it: a job is compared with the previous job's
    // shape first, so a column that comparison missed would give the job the base job's value (or the reverse).
    // (A live job key is unique: the second job with one gets another key.)
    const list: Array<[string, NewJob, NewJobSchedule]> = [];
    for (const [label, job, s] of variants.slice(1)) {
      list.push(variants[0], [label, job, s]);
      list.push([label, job.jobKey ? { ...job, jobKey: "k2" } : job, s], variants[0]);
    }
    const backend = backendFor(db.dataSource);
    const saved = await backend.transaction((manager) =>
      insertJobs(
        backend,
        manager,
        list.map(([, job]) => job),
        list.map(([, , s]) => s),
      ),
    );
    const columns = Object.keys(base) as Array<keyof NewJob>;
    const rows = new Map((await db.dataSource.manager.find(HrpCronJob)).map((job) => [job.id, job]));
    const crons = new Map((await db.dataSource.manager.find(IrCron)).map((c) => [c.hrpCronJobId, c]));
    list.forEach(([label, job, s], i) => {
      const row = rows.get(saved[i].id)!;
      expect([label, Object.fromEntries(columns.map((c) => [c, row[c]]))]).toEqual([label, job]);
      expect([label, row.nextcall?.getTime()]).toEqual([label, s.nextcall.getTime()]); // the job row is what is claimed
      const cron = crons.get(saved[i].id);
      if (job.kind === "queue") {
        expect([label, cron]).toEqual([label, undefined]); // a queue job has no ir_cron row
        return;
      }
      expect([label, cron!.nextcall.getTime(), cron!.doall]).toEqual([label, s.nextcall.getTime(), s.doall]);
      expect([label, cron!.name, cron!.userId, cron!.priority, cron!.queue, cron!.timeoutMs, cron!.userKey]).toEqual([
        label,
        job.name,
        job.userId,
        job.priority,
        job.queue,
        job.timeoutMs,
        job.userKey,
      ]);
    });
  });

  it("enqueueBulk's errors name the job they are about, and nothing is written", async () => {
    const good = { method: "app.work.noop" };
    const cases: Array<[unknown[], new (...a: never[]) => Error, RegExp]> = [
      [
        [good, { method: "app.work.noop", options: { priority: 1.5 } }],
        ValidationError,
        /jobs\[1\]\.options\.priority/,
      ],
      [[good, good, { method: "app.work.nope" }], UnknownMethodError, /^jobs\[2\]: Method `app\.work\.nope`/],
      [[{ method: "app.work.noop", options: { queue: "nope" } }], UnknownQueueError, /^jobs\[0\]: Queue "nope"/],
      [[good, { method: "app.work.noop", options: { userId: 999 } }], InvalidUserError, /^jobs\[1\]: User 999/],
      [[{ method: "app.work.noop", options: { args: [() => 1] } }], ValidationError, /jobs\[0\]\.options\.args\[0\]/],
      [[good, { method: "nodots" }], ValidationError, /jobs\[1\]\.method/],
      [
        [{ method: "app.work.noop", options: { onSuccess: "app.x.y" } }],
        UnknownMethodError,
        /^jobs\[0\]: Method `app\.x\.y`/,
      ],
      [[{ method: "app.work.noop", options: { queue: 7 } }], ValidationError, /jobs\[0\]\.options\.queue/],
      [[{ method: "app.work.noop", options: { atFront: "yes" } }], ValidationError, /jobs\[0\]\.options\.atFront/],
      [[{ method: "app.work.noop", options: { maxRetries: null } }], ValidationError, /jobs\[0\]\.options\.maxRetries/],
    ];
    for (const [list, errorClass, message] of cases) {
      const error = await jobs.enqueueBulk(list as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(errorClass);
      expect((error as Error).message).toMatch(message);
    }
    expect(await count(db, "hrp_cron_job")).toBe(0);
    expect(await count(db, "ir_cron")).toBe(0);
  });

  it("the jobs of one enqueueBulk share one creation time", async () => {
    let tick = Date.parse("2026-05-04T08:00:00Z");
    const ticking = new JobQueue(db.dataSource, { registry, now: () => new Date((tick += 1000)) });
    const saved = await ticking.enqueueBulk([{ method: "app.work.noop" }, { method: "app.work.other" }]);
    expect(new Set(saved.map((j) => j.dateCreated.getTime())).size).toBe(1);
    expect(new Set((await db.dataSource.manager.find(HrpCronJob)).map((j) => j.dateCreated.getTime())).size).toBe(1);
  });
});
