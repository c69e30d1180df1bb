import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { BACKENDS, openTestDb, type TestDb } from "../helpers";
import { databaseVariable, hrpCron, npmStart, withoutDates, writeConfigExample } from "./cli";
import { codeBlocks, outputBlock } from "./markdown";
import { itRunsExample } from "./givens";

/**
 * What docs/operating.md (and docs/scheduler.md's config file) quote from the
 * CLI, checked against the real thing: the help text, `npm start -- --burst`,
 * `doctor`, the audit queries and the config file examples.
 */
describe("docs/operating.md", () => {
  it("quotes `hrp-cron --help` as it is", async () => {
    const help = await hrpCron(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toBe(outputBlock("cli-help"));
  });
});

describe.each(BACKENDS)("docs/operating.md on %s", (kind) => {
  let db: TestDb;
  let cwd: string;
  beforeEach(async () => {
    db = await openTestDb(kind);
    cwd = mkdtempSync(join(tmpdir(), "hrp-cron-docs-cwd-")); // no ./hrp-cron.config.js here
  });
  afterEach(async () => {
    rmSync(cwd, { recursive: true, force: true });
    await db.close();
  });

  it("quotes what `npm start -- --burst` and then `doctor` print, and its audit queries run", async () => {
    const env = { HRP_CRON_DB: databaseVariable(db) };
    const burst = await npmStart(["--burst"], { env });
    expect(burst.code).toBe(0);
    expect(withoutDates(burst.stdout)).toBe(withoutDates(outputBlock("npm-start-burst")));
    expect(burst.stderr).toMatch(/\[hrp-cron\] error cron run failed .*ARA-0002 has amount 0/);

    const doctor = await hrpCron(["doctor"], { env, cwd });
    expect(doctor.code).toBe(0);
    expect(withoutDates(doctor.stdout)).toBe(withoutDates(outputBlock("doctor")));

    // One job in full, with the example's config (its users); worker ids, paths and durations differ per run.
    const exampleConfig = join(__dirname, "..", "..", "dist", "examples", "asset-receiving", "hrp-cron.config.js");
    const detail = await hrpCron(["job", "2", "--config", exampleConfig], { env, cwd });
    const machineFree = (text: string) =>
      withoutDates(text)
        .replace(/\b[\w.-]+:\d+:[a-z0-9]+\b/g, "<worker>")
        .replace(/\(\/\S*?\/dist\//g, "(<root>/dist/")
        .replace(/\d+ ms/g, "<n> ms")
        .replace(/ UTC/g, "")
        .split("\n")
        .filter((line) => !line.includes("node:internal")) // the driver's async frames differ per database
        .join("\n");
    expect([detail.code, detail.stderr]).toEqual([0, ""]);
    expect(machineFree(detail.stdout)).toBe(machineFree(outputBlock("job-detail")));
    const typo = await hrpCron(["jobs", "--stat", "failed"], { env, cwd });
    expect([typo.code, typo.stderr.trimEnd()]).toEqual([2, outputBlock("cli-typo").trimEnd()]);

    const sql = codeBlocks("docs/operating.md").find((b) => b.lang === "sql")!.code;
    const statements = sql.split(/;\s*(?:\n|$)/).map((s) => s.trim()).filter(Boolean);
    const results: unknown[][] = [];
    for (const statement of statements) {
      const text = kind === "sqlite" ? statement.replace("CURRENT_TIMESTAMP - INTERVAL '1 day'", "datetime('now', '-1 day')") : statement;
      results.push(await db.dataSource.query(text));
    }
    expect(results.map((rows) => rows.length)).toEqual([1, 1, 0, 1]); // the failure, job 3 waiting, nothing running, cron 2
    expect(results[0][0]).toMatchObject({ login: "zhang.wei", method: "hrp.asset.receiving.application.createAssetAcceptanceAccountMove" });

    // The operator transcript (after the audit queries: it cancels job 3): each command of test/docs/operator-transcript.txt, as the docs quote it.
    const lines = readFileSync(join(__dirname, "operator-transcript.txt"), "utf8").trim().split("\n");
    let transcript = "";
    for (const line of lines) {
      const argv = (line.match(/"[^"]*"|\S+/g) ?? []).map((word) => word.replace(/^"(.*)"$/, "$1"));
      const result = await hrpCron([...argv, "--config", exampleConfig], { env, cwd }); // the docs set HRP_CRON_CONFIG
      transcript += `$ hrp-cron ${line}\n${result.stdout}${result.stderr}`;
    }
    expect(withoutDates(transcript).trimEnd()).toBe(withoutDates(outputBlock("operator-transcript")).trimEnd());

  });

  it("runs the config file example operating/config: setup seeds its cron, the worker and crons commands use it", async () => {
    const config = writeConfigExample("operating/config");
    try {
      const env = { HRP_CRON_DB: databaseVariable(db) };
      const burst = await hrpCron(["worker", "--burst", "--config", config], { env, cwd });
      expect([burst.code, burst.stdout]).toEqual([0, expect.stringContaining("nothing was due")]);
      const crons = await hrpCron(["crons", "--config", config], { env, cwd });
      expect(crons.code).toBe(0);
      expect(crons.stdout).toMatch(/Nightly depreciation\s+yes\s+hrp\.asset\.depreciate\s+admin\s+0 2 \* \* \*/);
    } finally {
      rmSync(dirname(config), { recursive: true, force: true });
    }
  });

  it("runs the config file example scheduler/config: migrate syncs its scheduler events, job-types lists them", async () => {
    const config = writeConfigExample("scheduler/config");
    try {
      const env = { HRP_CRON_DB: databaseVariable(db) };
      const migrate = await hrpCron(["migrate", "--config", config], { env, cwd });
      expect([migrate.code, migrate.stdout]).toEqual([0, expect.stringContaining("scheduler events: 3 inserted, 0 updated, 0 deleted")]);
      const again = await hrpCron(["migrate", "--config", config], { env, cwd });
      expect(again.stdout).toContain("scheduler events: 0 inserted, 0 updated, 0 deleted");
      const types = await hrpCron(["job-types", "--config", config], { env, cwd });
      expect(types.code).toBe(0);
      for (const line of [/updateDatabaseUsage\s.*Hourly\s.*default/, /takeBackupsDaily\s.*Daily Long\s.*long/, /cleanupLogs\s.*Cron\s.*0 2 \* \* \*/]) {
        expect(types.stdout).toMatch(line);
      }
    } finally {
      rmSync(dirname(config), { recursive: true, force: true });
    }
  });
});

/** The snippets of docs/operating.md ("Metrics and traces"). */
describe.each(BACKENDS)("docs/operating.md examples on %s", (kind) => {
  itRunsExample(kind, "operating/traces", async (_run, db) => {
    // The request's trace context was stored with the job, as W3C traceparent.
    const [job] = await db.dataSource.query(`SELECT trace_context FROM hrp_cron_job`);
    expect(JSON.parse(job.trace_context)).toEqual({ traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/) });
  });
});
