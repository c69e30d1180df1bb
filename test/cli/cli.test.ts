import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DataSource } from "typeorm";
import { main, type CliIo } from "../../src/cli";
import { ConfigError, ENTITIES, JobQueue, MIGRATIONS, defaultDataSourceOptions, migrate } from "../../src";
import { BACKENDS } from "../helpers";
import { registry as queueRegistry } from "../fixtures/queue.config";
import { appUsers, registry as appRegistry } from "../fixtures/appUsers.config";
import { AccountMove, AssetReceivingApplication, EXAMPLE_ENTITIES } from "../../examples/asset-receiving/entities";

const ROOT = join(__dirname, "..", "..");
const EXAMPLE_CONFIG = join(ROOT, "examples", "asset-receiving", "hrp-cron.config.ts");

function captureIo(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (t) => stdout.push(t),
    err: (t) => stderr.push(t),
    stopRequested: new Promise(() => undefined),
  };
}

describe("hrp-cron CLI", () => {
  let dir: string;
  let dbFile: string;
  const savedDb = process.env.HRP_CRON_DB;
  const savedLevel = process.env.HRP_CRON_LOG_LEVEL;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "hrp-cron-cli-"));
    dbFile = join(dir, "cli.sqlite");
    process.env.HRP_CRON_DB = dbFile;
    process.env.HRP_CRON_LOG_LEVEL = "silent";
  });

  afterEach(() => {
    process.env.HRP_CRON_DB = savedDb;
    if (savedDb === undefined) delete process.env.HRP_CRON_DB;
    process.env.HRP_CRON_LOG_LEVEL = savedLevel;
    if (savedLevel === undefined) delete process.env.HRP_CRON_LOG_LEVEL;
    rmSync(dir, { recursive: true, force: true });
  });

  const run = async (...argv: string[]) => {
    const io = captureIo();
    const code = await main(argv, io);
    return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
  };

  async function withDb<T>(work: (ds: DataSource) => Promise<T>): Promise<T> {
    const ds = new DataSource({
      type: "better-sqlite3",
      database: dbFile,
      entities: [...ENTITIES, ...EXAMPLE_ENTITIES],
    });
    await ds.initialize();
    try {
      return await work(ds);
    } finally {
      await ds.destroy();
    }
  }

  it("rejects bad usage with exit code 2 and a message", async () => {
    expect((await run()).code).toBe(2);
    const unknown = await run("frobnicate");
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/unknown command "frobnicate"/);
    expect((await run("jobs", "--state", "bogus")).err).toMatch(
      /--state must be one of pending, running, done, failed, cancelled/,
    );
    expect((await run("run-now", "abc")).code).toBe(2);
    expect((await run("run-now")).err).toMatch(/exactly one CRON_ID/);
    expect((await run("jobs", "--limit", "0")).err).toMatch(/--limit must be from 1/);
    expect((await run("crons", "--burst")).err).toMatch(/unknown option --burst/);
    expect((await run("worker", "--config", join(dir, "missing.js"))).code).toBe(1);
  });

  it("a worker with an empty registry refuses to start, before opening the database", async () => {
    const burst = await run("worker", "--burst");
    expect(burst.code).toBe(1);
    expect(burst.err).toMatch(
      /ConfigError: no job methods are registered \(config .*hrp-cron\.config\.js: not found\), so this worker would fail every job/,
    );
    expect(existsSync(dbFile)).toBe(false);
  });

  it("refuses a database URL it cannot use instead of creating a file named after it", async () => {
    expect(() => defaultDataSourceOptions({ DATABASE_URL: "mysql://app:secret@db.example:3306/app" })).toThrow(
      ConfigError,
    );
    expect(() => defaultDataSourceOptions({ HRP_CRON_DB: "sqlite:///var/db/x.sqlite" })).toThrow(
      /HRP_CRON_DB is a "sqlite:" URL/,
    );
    expect(defaultDataSourceOptions({ DATABASE_URL: "postgresql://h/db" }).type).toBe("postgres");
    expect(defaultDataSourceOptions({ HRP_CRON_DB: "", DATABASE_URL: "./x.sqlite" })).toMatchObject({
      type: "better-sqlite3",
      database: "./x.sqlite",
    });
    // The real CLI, in an empty directory: nothing may appear there.
    const cwd = join(dir, "cwd");
    mkdirSync(cwd);
    for (const [variable, url, command] of [
      ["DATABASE_URL", "mysql://app:secret@db.example:3306/app", "jobs"],
      ["HRP_CRON_DB", "http://example.com/db", "migrate"],
    ]) {
      const env: NodeJS.ProcessEnv = { ...process.env, [variable]: url };
      if (variable === "DATABASE_URL") delete env.HRP_CRON_DB;
      const child = spawn(process.execPath, [join(ROOT, "dist", "src", "cli", "bin.js"), command], { cwd, env });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
      expect([code, stderr]).toEqual([
        1,
        expect.stringMatching(
          new RegExp(`ConfigError: ${variable} is a "${url.split(":")[0]}:" URL, which hrp-cron cannot use`),
        ),
      ]);
      expect(stderr).not.toMatch(/secret/);
      expect(readdirSync(cwd)).toEqual([]);
    }
  });

  it("migrates an empty database idempotently", async () => {
    const first = await run("migrate");
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/applied: 0001/);
    expect((await run("migrate")).out).toBe("database is up to date");
  });

  it("refuses operations on missing rows with exit code 1", async () => {
    const retry = await run("retry", "999");
    expect(retry.code).toBe(1);
    expect(retry.err).toMatch(/NotFoundError/);
  });

  it("runs the example end to end: burst, audit, retry after a fix, cancel, run-now", async () => {
    const burst = await run("worker", "--burst", "--config", EXAMPLE_CONFIG);
    expect(burst.code).toBe(0);
    expect(burst.out).toMatch(/burst: 2 run\(s\), 1 done, 1 failed/);

    const { approver, moves } = await withDb(async (ds) => ({
      approver: (await ds.query(`SELECT id FROM app_user WHERE username = 'zhang.wei'`))[0].id as number,
      moves: await ds.manager.find(AccountMove),
    }));
    expect(moves).toHaveLength(1);
    expect(moves[0].createUid).toBe(approver); // ran as the approving user, not as Administrator
    // The example's users live in its own app_user table: hrp-cron made no res_users.
    expect(await withDb((ds) => ds.query(`SELECT name FROM sqlite_master WHERE name = 'res_users'`))).toEqual([]);

    const failed = await run("jobs", "--state", "failed", "--config", EXAMPLE_CONFIG);
    expect(failed.out).toMatch(/^2\s+failed\s+default\s+…\S*AccountMove\s+zhang\.wei\s+1\s/m); // logins, method ends kept
    expect(Math.max(...failed.out.split("\n").map((l) => l.length))).toBeLessThanOrEqual(120);
    // One job in full: its whole error and stack, its user's login, its arguments.
    const detail = await run("job", "2", "--config", EXAMPLE_CONFIG);
    expect(detail.out).toMatch(/^Job 2 {2}Create Asset Receiving Account Move {2}\[failed\]$/m);
    expect(detail.out).toMatch(/^ {2}user +zhang\.wei \(id 2\)$/m);
    expect(detail.out).toMatch(/application ARA-0002 has amount 0; an account move needs a positive amount\n\s+at /);
    const json = JSON.parse((await run("job", "2", "--json", "--config", EXAMPLE_CONFIG)).out) as {
      job: { id: number; state: string };
      login: string;
      runs: Array<{ state: string; error: string }>;
    };
    expect([json.job.id, json.job.state, json.login, json.runs.map((r) => r.state)]).toEqual([
      2,
      "failed",
      "zhang.wei",
      ["failed"],
    ]);
    const runs = await run("runs", "--config", EXAMPLE_CONFIG);
    expect(runs.out.split("\n").filter((l) => /\bfailed\b/.test(l))).toHaveLength(1);

    // Every failed job whose error says so, as a dry run first (nothing changes).
    const dryRetry = await run("retry", "--error", "AMOUNT 0", "--dry-run", "--config", EXAMPLE_CONFIG);
    expect(dryRetry.out).toBe("would retry 1 job(s): 2 (run again without --dry-run to do it)");
    expect((await run("retry", "2", "--error", "x", "--config", EXAMPLE_CONFIG)).err).toMatch(
      /give JOB_ID or filter options/,
    );
    expect((await run("retry", "--config", EXAMPLE_CONFIG)).err).toMatch(/"retry" needs a JOB_ID, or a filter/);
    expect((await run("cancel", "--queue", "default", "--dry-run", "--config", EXAMPLE_CONFIG)).out).toBe(
      "would cancel 2 job(s): 2, 3 (run again without --dry-run to do it)",
    );

    // Fix the data, retry the failed job: it runs again as the same user.
    await withDb((ds) => ds.manager.update(AssetReceivingApplication, { name: "ARA-0002" }, { amount: 500 }));
    expect((await run("retry", "2", "--config", EXAMPLE_CONFIG)).code).toBe(0);
    expect((await run("job", "2", "--config", EXAMPLE_CONFIG)).out).toMatch(
      /\nOperator actions \(1, newest first\):\n {2}\S+ \S+ UTC {2}retry by \S+@\S+ \(cli\) -> job 2 is pending, due /,
    );
    expect((await run("worker", "--burst", "--config", EXAMPLE_CONFIG)).out).toMatch(/1 run\(s\), 1 done, 0 failed/);
    await withDb(async (ds) => {
      const again = await ds.manager.findOneByOrFail(AccountMove, { ref: "AM/ARA-0002" });
      expect(again.createUid).toBe(approver);
    });

    // Job 3 is due in 30 s: cancel it, then it cannot be retried into running twice.
    // Cancelling needs a reason (exit 2, nothing changed); it is recorded with the operator in the action log.
    const noReason = await run("cancel", "3", "--config", EXAMPLE_CONFIG);
    expect([noReason.code, noReason.err]).toEqual([2, expect.stringMatching(/"cancel" needs --reason TEXT/)]);
    const cancel = (...more: string[]) => run("cancel", "3", "--reason", "approval withdrawn", ...more);
    expect((await cancel("--by", "li.na", "--config", EXAMPLE_CONFIG)).out).toBe("job 3 is cancelled");
    expect((await cancel("--config", EXAMPLE_CONFIG)).code).toBe(1);
    const actions = JSON.parse((await run("actions", "--json", "--config", EXAMPLE_CONFIG)).out) as Array<{
      action: string;
      targetId: number;
      actor: string;
      source: string;
      reason: string | null;
    }>;
    expect(actions.map((a) => [a.action, a.targetId, a.actor, a.source, a.reason])).toEqual([
      ["cancel", 3, "li.na", "cli", "approval withdrawn"],
      ["retry", 2, expect.stringMatching(/.@./), "cli", null], // --by defaults to the OS user at this host
    ]);
    expect((await run("actions", "--job", "3", "--config", EXAMPLE_CONFIG)).out).toMatch(
      /^2\s+\S+ \S+\s+li\.na\s+cli\s+cancel\s+job 3\s+1\s+approval withdrawn\s+job 3 is cancelled \(was pending\)$/m,
    );

    // A finished job is final: run-now refuses its cron (exit 1) and writes no second run.
    const doneCron = await withDb(
      async (ds) => (await ds.query(`SELECT id FROM ir_cron WHERE hrp_cron_job_id = 1`))[0].id as number,
    );
    const runsBefore = (await run("runs", "--job", "1", "--config", EXAMPLE_CONFIG)).out;
    const refused = await run("run-now", String(doneCron), "--config", EXAMPLE_CONFIG);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/InvalidStateError: Cron \d+ belongs to job 1, which is done/);
    expect((await run("runs", "--job", "1", "--config", EXAMPLE_CONFIG)).out).toBe(runsBefore);

    // The recurring cron (id 4) runs on demand.
    const now = await run("run-now", "4", "--config", EXAMPLE_CONFIG);
    expect(now.code).toBe(0);
    expect(now.out).toMatch(/dailyDepreciation\s+zhang\.wei\s+done/);
    expect((await run("crons", "--config", EXAMPLE_CONFIG)).out).toMatch(/0 2 \* \* \*/);

    // Retention: job 2 (done after its retry) goes, the log of its failed first run stays in the audit.
    const failedRuns = () => run("runs", "--state", "failed", "--json", "--config", EXAMPLE_CONFIG);
    expect(JSON.parse((await failedRuns()).out)).toHaveLength(1);
    const dry = await run("purge", "--finished-days", "0", "--dry-run", "--config", EXAMPLE_CONFIG);
    expect(dry.out).toMatch(/^would delete 3 finished job\(s\)/); // 1 and 2 done, 3 cancelled
    expect(dry.out).toMatch(/kept 1 log row\(s\) of their failed/);
    expect(JSON.parse((await run("jobs", "--json", "--config", EXAMPLE_CONFIG)).out)).toHaveLength(3); // nothing deleted
    const purged = await run("purge", "--finished-days", "0", "--reason", "retention test", "--config", EXAMPLE_CONFIG);
    expect(purged.out).toMatch(/\nkept the operator action log \(--actions-days N deletes rows older than N days\)$/);
    const actionsBefore = JSON.parse((await run("actions", "--json", "--config", EXAMPLE_CONFIG)).out) as unknown[];
    expect(actionsBefore.length).toBeGreaterThan(1); // the retry, the cancel, this purge: purge left the log alone
    const dropLog = await run("purge", "--actions-days", "0", "--dry-run", "--config", EXAMPLE_CONFIG);
    expect(dropLog.out).toMatch(
      new RegExp(`would delete ${actionsBefore.length} operator action-log row\\(s\\) older than 0 day`),
    );
    expect(purged.out).toMatch(/^deleted 3 finished job\(s\).*\ndeleted 0 failed job\(s\).*\nkept 1 log row\(s\)/);
    expect(JSON.parse((await run("jobs", "--json", "--config", EXAMPLE_CONFIG)).out)).toEqual([]);
    const [kept] = JSON.parse((await failedRuns()).out) as Array<{ hrpCronJobId: number; error: string }>;
    expect([kept.hrpCronJobId, kept.error]).toEqual([2, expect.stringContaining("ARA-0002 has amount 0")]);
  });

  it("queue commands: worker --queue --burst, jobs --queue, queues, stop, purge", async () => {
    const config = join(ROOT, "test", "fixtures", "queue.config.ts");
    expect((await run("migrate", "--config", config)).code).toBe(0);
    await withDb(async (ds) => {
      const jobs = new JobQueue(ds, { registry: queueRegistry, workers: { reports: { timeoutMs: 60_000 } } });
      await jobs.enqueue("app.tasks.note", { kwargs: { key: "s" }, queue: "short" });
      await jobs.enqueue("app.tasks.note", { kwargs: { key: "r" }, queue: "reports" });
      await jobs.enqueue("app.tasks.note", { kwargs: { key: "l" }, queue: "long" });
    });
    expect((await run("worker", "--queue", "nope", "--burst", "--config", config)).err).toMatch(
      /UnknownQueueError: Queue "nope" does not exist/,
    );
    const burst = await run("worker", "--queue", "short,reports", "--burst", "--config", config);
    expect(burst.code).toBe(0);
    expect(burst.out).toMatch(/burst: 2 run\(s\), 2 done, 0 failed/);
    expect((await run("jobs", "--queue", "long", "--config", config)).out).toMatch(
      /^3\s+pending\s+long\s+app\.tasks\.note\s+admin\s+0\s/m,
    );
    expect((await run("queues", "--config", config)).out).toMatch(/long\s+0\s+1\s+0/);
    // Pausing a queue needs a reason; the listing, doctor and the action log show it; a paused queue is not served.
    expect((await run("queues", "--pause", "long", "--config", config)).code).toBe(2);
    const paused = await run(
      "queues",
      "--pause",
      "long",
      "--reason",
      "month-end close",
      "--by",
      "li.na",
      "--config",
      config,
    );
    expect(paused.out).toMatch(/^long\s+0\s+1\s+0\s+PAUSED$/m);
    expect(paused.out).toMatch(/^queue long is PAUSED since .* UTC by li\.na: month-end close$/m);
    expect((await run("doctor", "--config", config)).out).toMatch(
      /Paused queues: 1\n.*\n.*\nlong\s+\S+ \S+\s+li\.na\s+month-end close/,
    );
    expect((await run("worker", "--queue", "long", "--burst", "--config", config)).out).toMatch(/nothing was due/);
    expect((await run("queues", "--pause", "long", "--reason", "again", "--config", config)).err).toMatch(
      /InvalidStateError: queue long is already paused/,
    );
    expect((await run("queues", "--resume", "long", "--config", config)).out).not.toMatch(/PAUSED/);
    expect((await run("actions", "--action", "pause", "--config", config)).out).toMatch(
      /li\.na\s+cli\s+pause\s+queue long/,
    );
    expect(
      (await run("jobs", "--method", "app.tasks.note", "--state", "done", "--config", config)).out.split("\n"),
    ).toHaveLength(4);
    expect((await run("jobs", "--since", "2999-01-01", "--config", config)).out.split("\n")).toHaveLength(2);
    expect((await run("jobs", "--until", "yesterday", "--config", config)).code).toBe(2);
    const stop = await run("stop", "3", "--reason", "wrong month", "--config", config);
    expect([stop.code, stop.err]).toEqual([1, expect.stringMatching(/not running; cancel a pending job/)]);
    expect((await run("purge", "--finished-days", "0", "--reason", "retention", "--config", config)).out).toMatch(
      /^deleted 2 finished job\(s\) \(done, cancelled, stopped before \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)\n/,
    );
    expect((await run("jobs", "--config", config)).out.split("\n")).toHaveLength(3); // header, rule, the long job
  });

  it("scheduler commands: sync on migrate, job-types, add-job-type, pause/resume, doctor", async () => {
    const config = join(ROOT, "test", "fixtures", "queue.config.ts");
    expect((await run("migrate", "--config", config)).out).toMatch(
      /scheduler events: 1 inserted, 0 updated, 0 deleted/,
    );
    const bad = await run("add-job-type", "app.tasks.note", "--cron", "61 * * * *", "--config", config);
    expect([bad.code, bad.err]).toEqual([1, expect.stringMatching(/ValidationError: Invalid cron_expression/)]);
    expect((await run("add-job-type", "--cron", "0 2 * * *", "--config", config)).code).toBe(2);
    expect((await run("job-types", "--config", config)).out).toMatch(
      /app\.tasks\.note\s+Hourly\s+default\s+admin\s+no\s+app/,
    );
    expect((await run("job-types", "--stop", "1", "--config", config)).code).toBe(2); // needs --reason
    expect((await run("job-types", "--stop", "1", "--reason", "audit freeze", "--config", config)).out).toMatch(
      /Hourly\s+default\s+admin\s+yes/,
    );
    expect((await run("job-types", "--stop", "99", "--reason", "x", "--config", config)).code).toBe(1);
    expect((await run("scheduler", "pause", "--config", config)).code).toBe(2); // needs --reason
    expect((await run("scheduler", "pause", "--reason", "maintenance", "--config", config)).out).toMatch(
      /enabled, paused/,
    );
    expect(
      (
        JSON.parse((await run("actions", "--json", "--config", config)).out) as Array<{
          action: string;
          reason: string;
        }>
      )
        .slice(0, 2)
        .map((a) => [a.action, a.reason]),
    ).toEqual([
      ["scheduler_control", "maintenance"],
      ["stop_job_type", "audit freeze"],
    ]);
    const doctor = await run("doctor", "--config", config);
    expect(doctor.code).toBe(0);
    expect(doctor.out).toMatch(/^Scheduler: enabled, PAUSED; leader none/);
    expect(doctor.out).toMatch(/Workers online: 0/);
    expect((await run("scheduler", "resume", "--config", config)).out).toMatch(/enabled, running/);
    expect((await run("scheduler", "jump", "--config", config)).code).toBe(2);
  });

  it("the config's top-level userResolver serves every command: add-job-type, the worker, listings", async () => {
    const config = join(ROOT, "test", "fixtures", "appUsers.config.ts");
    expect((await run("migrate", "--config", config)).code).toBe(0);
    // The application keeps its users: hrp-cron created no res_users of its own.
    expect(await withDb((ds) => ds.query(`SELECT name FROM sqlite_master WHERE name = 'res_users'`))).toEqual([]);
    // Users of the application's own table, not res_users (which has no user 7).
    const added = await run(
      "add-job-type",
      "app.audit.whoami",
      "--cron",
      "0 2 * * *",
      "--user",
      "7",
      "--config",
      config,
    );
    expect([added.code, added.err]).toEqual([0, ""]);
    const inactive = await run(
      "add-job-type",
      "app.audit.whoami",
      "--cron",
      "0 3 * * *",
      "--user",
      "8",
      "--config",
      config,
    );
    expect([inactive.code, inactive.err]).toEqual([1, expect.stringMatching(/User 8 is inactive/)]);
    const missing = await run(
      "add-job-type",
      "app.audit.whoami",
      "--cron",
      "0 4 * * *",
      "--user",
      "2",
      "--config",
      config,
    );
    expect([missing.code, missing.err]).toEqual([1, expect.stringMatching(/User 2 does not exist/)]);
    // A job stored for user 7 runs as user 7 in a CLI worker.
    await withDb(async (ds) => {
      await ds.query(`CREATE TABLE IF NOT EXISTS app_seen (uid integer NOT NULL, login varchar(64) NOT NULL)`);
      await new JobQueue(ds, { registry: appRegistry, userResolver: appUsers }).enqueue("app.audit.whoami", {
        userId: 7,
      });
    });
    const burst = await run("worker", "--burst", "--config", config);
    expect(burst.out).toMatch(/burst: 1 run\(s\), 1 done, 0 failed/);
    expect(await withDb((ds) => ds.query(`SELECT uid, login FROM app_seen`))).toEqual([{ uid: 7, login: "nurse.li" }]);
  });

  it("a config that sets userResolver under dispatcher, or not as an object with findUser, is refused", async () => {
    const bad = join(dir, "bad.config.js");
    writeFileSync(bad, "module.exports = { dispatcher: { userResolver: { findUser: async () => null } } };");
    const nested = await run("jobs", "--config", bad);
    expect([nested.code, nested.err]).toEqual([1, expect.stringMatching(/set userResolver at the top level/)]);
    const bad2 = join(dir, "bad2.config.js"); // a new path: require caches the first
    writeFileSync(bad2, "module.exports = { userResolver: { find: async () => null } };");
    expect((await run("jobs", "--config", bad2)).err).toMatch(/"userResolver" must be an object with findUser/);
  });

  it("loads a TypeScript config file in plain Node (jiti), and says clearly when it does not compile", async () => {
    const cli = async (...argv: string[]) => {
      const child = spawn(process.execPath, [join(ROOT, "dist", "src", "cli", "bin.js"), ...argv], {
        cwd: dir,
        env: { ...process.env, HRP_CRON_LOG_LEVEL: "silent" },
      });
      let out = "";
      let err = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
      return { code, out, err };
    };
    const lib = JSON.stringify(join(ROOT, "dist", "src"));
    writeFileSync(
      join(dir, "hrp-cron.config.ts"),
      `import { defineConfig, ENTITIES, ModelRegistry, type JobEnv } from ${lib};
const registry = new ModelRegistry().register("ts.config", { hello: (env: JobEnv, kw: { who: string }): string => kw.who });
export default defineConfig({ registry: () => registry, dataSource: { type: "better-sqlite3", database: ${JSON.stringify(dbFile)}, entities: ENTITIES } });
`,
    );
    const migrated = await cli("migrate", "--config", "hrp-cron.config.ts");
    expect([migrated.code, migrated.err]).toEqual([0, ""]);
    expect(migrated.out).toMatch(/applied: 0001-initial-schema/);
    const listed = await cli("jobs", "--config", "hrp-cron.config.ts");
    expect([listed.code, listed.err]).toEqual([0, ""]);
    writeFileSync(join(dir, "broken.config.ts"), "export default { registry: ( => 1 };\n");
    const broken = await cli("jobs", "--config", "broken.config.ts");
    expect(broken.code).toBe(1);
    expect(broken.err).toMatch(/ConfigError: config file .*broken\.config\.ts could not be loaded/);
  });

  it("a worker process started while its database refuses connections stays up, retrying, until Ctrl-C", async () => {
    const config = join(dir, "down.config.js");
    const lib = JSON.stringify(join(ROOT, "dist", "src"));
    writeFileSync(
      config,
      `const { ModelRegistry } = require(${lib});
module.exports = { registry: () => new ModelRegistry().register("app", { noop() {} }) };`,
    );
    const bin = join(ROOT, "dist", "src", "cli", "bin.js");
    const child = spawn(process.execPath, [bin, "worker", "--no-scheduler", "--config", config], {
      cwd: dir,
      env: { ...process.env, HRP_CRON_DB: "postgres://postgres@127.0.0.1:1/test", HRP_CRON_LOG_LEVEL: "silent" },
    });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    let exit: number | null | undefined;
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve((exit = code))));
    for (let i = 0; i < 200 && (err.match(/retrying in/g) ?? []).length < 3; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(err.match(/attempt \d+ failed, retrying in/g)?.length).toBeGreaterThanOrEqual(3);
    expect(exit).toBeUndefined(); // still waiting (it used to exit 0 after the first line)
    child.kill("SIGINT");
    expect(await exited).toBe(1);
    expect(err).toMatch(/DatabaseUnavailableError/);
  });

  it("a worker process stops cleanly on SIGINT", async () => {
    const child = spawn(
      process.execPath,
      [
        join(ROOT, "dist", "src", "cli", "bin.js"),
        "worker",
        "--config",
        join(ROOT, "dist", "examples", "asset-receiving", "hrp-cron.config.js"),
      ],
      {
        env: { ...process.env, HRP_CRON_DB: dbFile, HRP_CRON_LOG_LEVEL: "info" },
      },
    );
    let output = "";
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker did not run the due jobs:\n${output}`)), 30_000);
      const onData = (d: Buffer) => {
        output += d.toString();
        if (/Ctrl-C stops it/.test(output) && /cron run failed/.test(output) && /cron run done/.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
    });
    try {
      await ready;
    } catch (error) {
      child.kill("SIGKILL");
      throw error;
    }
    child.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(0);
    expect(output).toMatch(/worker stopped/);
    await withDb(async (ds) => {
      expect(Number((await ds.query(`SELECT COUNT(*) AS n FROM hrp_cron_worker`))[0].n)).toBe(0);
      expect(Number((await ds.query(`SELECT COUNT(*) AS n FROM ir_cron WHERE running_worker IS NOT NULL`))[0].n)).toBe(
        0,
      );
      expect(
        Number((await ds.query(`SELECT COUNT(*) AS n FROM hrp_cron_job WHERE running_worker IS NOT NULL`))[0].n),
      ).toBe(0);
    });
  });
});

/** The commands that only read: they must not migrate, run the config's setup, or create a database. */
const READ_ONLY = [["jobs"], ["crons"], ["runs"], ["queues"], ["doctor"], ["job-types"], ["scheduler", "status"]];

describe.each(BACKENDS)("read-only CLI commands on %s", (kind) => {
  const QUEUE_CONFIG = join(ROOT, "test", "fixtures", "queue.config.ts");
  const savedDb = process.env.HRP_CRON_DB;
  let dir: string;
  let location: { file?: string; schema?: string };
  let admin: DataSource | null = null;

  /** A DataSource on the database the CLI sees (not initialized). */
  const dataSource = () =>
    new DataSource(
      location.file
        ? { type: "better-sqlite3", database: location.file, entities: ENTITIES }
        : {
            type: "postgres",
            url: process.env.HRP_CRON_PG_URL,
            schema: location.schema,
            entities: ENTITIES,
            extra: { options: `-c search_path=${location.schema}` },
          },
    );
  const run = async (...argv: string[]) => {
    const io = captureIo();
    const code = await main(argv, io);
    return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
  };
  const tables = async (): Promise<string[]> => {
    if (location.file) {
      if (!existsSync(location.file)) return [];
      const ds = dataSource();
      await ds.initialize();
      try {
        return (
          await ds.query(
            `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`,
          )
        ).map((r: { name: string }) => r.name);
      } finally {
        await ds.destroy();
      }
    }
    return (
      await admin!.query(
        `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
        [location.schema],
      )
    ).map((r: { name: string }) => r.name);
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "hrp-cron-cli-ro-"));
    if (kind === "sqlite") {
      location = { file: join(dir, "never-created.sqlite") };
      process.env.HRP_CRON_DB = location.file;
    } else {
      location = { schema: `cli_ro_${process.pid}_${Date.now().toString(36)}` };
      admin = new DataSource({ type: "postgres", url: process.env.HRP_CRON_PG_URL });
      await admin.initialize();
      await admin.query(`CREATE SCHEMA ${location.schema}`);
      process.env.HRP_CRON_DB = `${process.env.HRP_CRON_PG_URL}?options=${encodeURIComponent(`-c search_path=${location.schema}`)}`;
    }
  });
  afterEach(async () => {
    process.env.HRP_CRON_DB = savedDb;
    if (savedDb === undefined) delete process.env.HRP_CRON_DB;
    if (admin) {
      await admin.query(`DROP SCHEMA ${location.schema} CASCADE`);
      await admin.destroy();
      admin = null;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuse a database that does not exist or is not migrated, and create or migrate nothing", async () => {
    for (const argv of READ_ONLY) {
      const result = await run(...argv);
      expect([argv, result.code]).toEqual([argv, 1]);
      expect(result.err).toMatch(
        kind === "sqlite"
          ? /ConfigError: database file .*never-created\.sqlite does not exist \(nothing was created\)/
          : new RegExp(
              `ConfigError: the database schema is not up to date \\(${MIGRATIONS.length} hrp-cron migration\\(s\\) not applied: 0001-initial-schema`,
            ),
      );
    }
    expect(existsSync(dir) && readdirSync(dir)).toEqual([]);
    expect(await tables()).toEqual([]);

    // Half migrated (an older hrp-cron): refused, and left as it is.
    const ds = dataSource();
    await ds.initialize();
    await migrate(ds, MIGRATIONS.slice(0, 2));
    await ds.destroy();
    for (const argv of READ_ONLY) {
      const result = await run(...argv);
      expect([argv, result.code, result.err]).toEqual([
        argv,
        1,
        expect.stringMatching(/not up to date .* run "hrp-cron migrate" first/),
      ]);
    }
    const ds2 = dataSource();
    await ds2.initialize();
    expect(Number((await ds2.query(`SELECT COUNT(*) AS n FROM hrp_cron_migrations`))[0].n)).toBe(2);
    await ds2.destroy();
  });

  it("on a migrated database, run without the config's setup", async () => {
    const ds = dataSource();
    await ds.initialize();
    await migrate(ds);
    await ds.destroy();
    const before = await tables();
    for (const argv of READ_ONLY) {
      const result = await run(...argv, "--config", QUEUE_CONFIG);
      expect([argv, result.code, result.err]).toEqual([argv, 0, ""]);
    }
    expect(await tables()).toEqual(before); // setup would have created hrp_cron_run_note
    expect(before).not.toContain("hrp_cron_run_note");
  });
});
