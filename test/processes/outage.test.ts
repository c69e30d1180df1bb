import { join } from "node:path";
import { DataSource } from "typeorm";
import { DatabaseUnavailableError, Dispatcher, JobQueue, ModelRegistry, type HrpCronJob, type JobEnv } from "../../src";
import { main, type CliIo } from "../../src/cli";
import { TestEffect } from "../fixtures/TestEffect";
import { memoryLogger } from "../helpers";
import { openOutageDb, OUTAGE_KINDS, type OutageDb } from "../outages";
import { startOwnPgServer, type OwnPgServer } from "../pgServer";
import { eventually } from "../processes";

/**
 * Item 3 of issue 12: an outage longer than the old retry budget (~0.8 s; a
 * PostgreSQL restart takes seconds). Calls made while the database is away
 * wait for it within `transientRetryBudgetMs`; past it they fail with
 * DatabaseUnavailableError saying nothing was written; a stopping
 * dispatcher does not sit in the budget; `hrp-cron worker` started before
 * its database waits for it. PostgreSQL: the test's own server, stopped and
 * started. SQLite: its write lock held by another connection.
 */
describe.each(OUTAGE_KINDS)("an outage longer than the old retry budget, on %s", (kind) => {
  let server: OwnPgServer | undefined;
  let db: OutageDb;
  let client: DataSource;
  const registry = new ModelRegistry().register("outage", {
    async touch(env: JobEnv, kw: { key: string }) {
      await env.manager.insert(TestEffect, { key: kw.key, uid: env.uid, note: null });
    },
  });

  beforeAll(async () => {
    if (kind === "postgres") server = await startOwnPgServer();
  }, 60_000);
  afterAll(async () => {
    await server?.destroy();
  });

  beforeEach(async () => {
    db = await openOutageDb(kind, server);
    client = new DataSource(db.options());
    await client.initialize();
  });

  afterEach(async () => {
    await db.up().catch(() => undefined); // a failed test may leave it down
    if (client.isInitialized) await client.destroy().catch(() => undefined);
    await db.close();
  });

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it("a write made while the database is down succeeds, once, when it comes back within the budget", async () => {
    const jobs = new JobQueue(client, {
      registry,
      logger: memoryLogger(),
      transientRetryBudgetMs: 30_000,
      transientRetryMaxDelayMs: 200,
    });
    await db.down("immediate");
    const call = jobs.enqueue("outage.touch", { kwargs: { key: "waited" }, jobName: "during the outage" });
    await sleep(1_500); // longer than the old budget (5 retries from 25 ms: ~0.8 s)
    await db.up();
    const job = (await call) as HrpCronJob;
    expect(job.id).toBeGreaterThan(0);
    expect(await db.count("hrp_cron_job", "name = 'during the outage'")).toBe(1);
  });

  it("when the budget runs out, DatabaseUnavailableError says nothing was written", async () => {
    const jobs = new JobQueue(client, {
      registry,
      logger: memoryLogger(),
      transientRetryBudgetMs: 400,
      transientRetryMaxDelayMs: 100,
    });
    await db.down("fast");
    const error = await jobs
      .enqueue("outage.touch", { kwargs: { key: "gave-up" }, jobName: "gave up" })
      .catch((e: unknown) => e);
    await db.up();
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    const unavailable = error as DatabaseUnavailableError;
    expect(unavailable.code).toBe("DATABASE_UNAVAILABLE");
    expect(unavailable.written).toBe("nothing");
    expect(unavailable.context).toMatchObject({ operation: "enqueue", method: "outage.touch", written: "nothing" });
    expect(unavailable.message).toMatch(/Nothing was written/);
    expect(unavailable.cause).toBeDefined();
    expect(await db.count("hrp_cron_job")).toBe(0);
  });

  it("a dispatcher stopped during an outage gives up its retries instead of waiting out the budget", async () => {
    const dispatcher = new Dispatcher(client, registry, {
      logger: memoryLogger(),
      pollIntervalMs: 50,
      heartbeatIntervalMs: 100,
      transientRetryBudgetMs: 600_000,
      transientRetryMaxDelayMs: 200,
    });
    await dispatcher.start();
    await db.down("fast");
    await sleep(500); // its loop is now retrying a claim
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<string>((resolve) => (timer = setTimeout(() => resolve("still retrying"), 20_000)));
    const stopped = await Promise.race([dispatcher.stop().then(() => "stopped"), stuck]);
    clearTimeout(timer);
    expect(stopped).toBe("stopped");
  });

  if (kind === "postgres") {
    it("`hrp-cron worker` started while the database is down waits, one line per attempt, then works", async () => {
      const saved = { db: process.env.HRP_CRON_DB, level: process.env.HRP_CRON_LOG_LEVEL };
      process.env.HRP_CRON_DB = db.location.pgUrl;
      process.env.HRP_CRON_LOG_LEVEL = "silent";
      let stop!: () => void;
      const err: string[] = [];
      const out: string[] = [];
      const io: CliIo = {
        out: (t) => out.push(t),
        err: (t) => err.push(t),
        stopRequested: new Promise<void>((resolve) => (stop = resolve)),
      };
      await db.down("fast");
      try {
        const worker = main(
          ["worker", "--config", join(__dirname, "..", "fixtures", "outage.config.ts"), "--no-scheduler"],
          io,
        );
        await eventually(
          async () => err.length >= 3,
          30_000,
          () => `stderr: ${err.join("\n")}`,
        );
        await db.up();
        await eventually(
          async () => out.some((line) => /running; Ctrl-C stops it/.test(line)),
          30_000,
          () => `stdout: ${out.join("\n")}\nstderr: ${err.join("\n")}`,
        );
        await new JobQueue(db.admin, { registry }).enqueue("outage.touch", { kwargs: { key: "after-wait" } });
        await eventually(
          async () => (await db.count("test_effect", "effect_key = 'after-wait'")) === 1,
          30_000,
          () => "the job did not run",
        );
        stop();
        expect(await worker).toBe(0);
        for (const line of err) {
          expect(line).toMatch(
            /^hrp-cron: database unavailable \(.*ECONNREFUSED.*\); attempt \d+ failed, retrying in [\d.]+ s$/,
          );
          expect(line).not.toMatch(/\n/);
        }
      } finally {
        stop();
        process.env.HRP_CRON_DB = saved.db;
        if (saved.db === undefined) delete process.env.HRP_CRON_DB;
        process.env.HRP_CRON_LOG_LEVEL = saved.level;
        if (saved.level === undefined) delete process.env.HRP_CRON_LOG_LEVEL;
      }
    });
  }
});
