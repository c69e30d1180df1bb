import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { transpile } from "../docs/markdown";

const root = join(__dirname, "..", "..");

/**
 * The packed tarball, installed the way npm lays out an application that
 * depends on hrp-cron: its files in `node_modules/hrp-cron` (no
 * `node_modules` of its own), and next to it only what the application
 * brings — TypeORM (a peer) and hrp-cron's dependencies — linked from this
 * repository's `node_modules`, without any database driver. (A real `npm
 * install` of the tarball needs the registry; this needs nothing.) Node's
 * own resolution then decides what the application can load.
 */
describe("the packed package, installed in an application", () => {
  let dir: string;
  let app: string;

  const link = (name: string) => {
    const at = join(app, "node_modules", name);
    mkdirSync(join(at, ".."), { recursive: true }); // a scope folder (@nestjs)
    if (!existsSync(at)) symlinkSync(join(root, "node_modules", name), at, "dir");
  };

  /** Runs `script` with node in the application folder. */
  function node(args: string[], env: NodeJS.ProcessEnv = {}) {
    const result = spawnSync(process.execPath, args, {
      cwd: app,
      encoding: "utf8",
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      timeout: 30_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "hrp-cron-packed-"));
    const out = execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", dir], {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    const [{ filename }] = JSON.parse(out) as Array<{ filename: string }>;
    app = join(dir, "app");
    const installed = join(app, "node_modules", "hrp-cron");
    mkdirSync(installed, { recursive: true });
    execFileSync("tar", ["-xzf", join(dir, filename), "-C", installed, "--strip-components=1"]);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true }));
    for (const name of ["typeorm", "luxon", "reflect-metadata"]) link(name);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("loads from the package root, with CommonJS and ESM alike, and refuses deep paths", () => {
    const cjs = node([
      "-e",
      `const hrp = require("hrp-cron");
       console.log(typeof hrp.migrate, typeof hrp.Dispatcher, hrp.TYPEORM_MIGRATIONS.length > 0, require("hrp-cron/package.json").name);
       try { require("hrp-cron/dist/src/backend"); console.log("deep path loaded"); } catch (e) { console.log(e.code); }`,
    ]);
    expect(cjs.stderr).toBe("");
    expect(cjs.stdout.trim().split("\n")).toEqual(["function function true hrp-cron", "ERR_PACKAGE_PATH_NOT_EXPORTED"]);

    const esm = node([
      "--input-type=module",
      "-e",
      `import { migrate, ENTITIES } from "hrp-cron";
       console.log(typeof migrate, ENTITIES.length > 0);
       await import("hrp-cron/dist/src/index.js").then(() => console.log("deep path loaded"), (e) => console.log(e.code));`,
    ]);
    expect(esm.stderr).toBe("");
    expect(esm.stdout.trim().split("\n")).toEqual(["function true", "ERR_PACKAGE_PATH_NOT_EXPORTED"]);
  });

  it("exports the test helpers as hrp-cron/testing, loadable without a database driver", () => {
    const cjs = node([
      "-e",
      `const testing = require("hrp-cron/testing");
       console.log(Object.keys(testing).sort().join(" "));
       console.log(testing.testClock("2026-03-02T09:00:00Z").advance({ seconds: 30 }).toISOString());
       console.log(new testing.DrainLimitError(1, [], 1) instanceof require("hrp-cron").HrpCronError);`,
    ]);
    expect(cjs.stderr).toBe("");
    expect(cjs.stdout.trim().split("\n")).toEqual([
      "DrainLimitError JobExpectationError JobsFailedError createTestDataSource drain enqueuedJobs expectEnqueued expectNotEnqueued expectRun runJob runsOf testClock",
      "2026-03-02T09:00:30.000Z",
      "true",
    ]);
    const esm = node([
      "--input-type=module",
      "-e",
      `import { drain } from "hrp-cron/testing"; console.log(typeof drain);`,
    ]);
    expect([esm.stderr, esm.stdout.trim()]).toEqual(["", "function"]);
    // Without better-sqlite3, a test database is refused with the package to install.
    const missing = node([
      "-e",
      `require("hrp-cron/testing").createTestDataSource().catch((e) => console.log(e.name, e.message))`,
    ]);
    expect(missing.stdout).toContain("DriverNotInstalledError");
    expect(missing.stdout).toContain("npm install better-sqlite3");
  });

  it("names the driver package to install when it is missing, and works once it is installed", () => {
    const cli = join("node_modules", "hrp-cron", "dist", "src", "cli", "bin.js");
    // SQLite, the default: nothing is opened or created.
    const sqlite = node([cli, "migrate"]);
    expect(sqlite.status).toBe(1);
    expect(sqlite.stderr).toContain("DriverNotInstalledError");
    expect(sqlite.stderr).toContain("npm install better-sqlite3");
    expect(existsSync(join(app, "hrp-cron.sqlite"))).toBe(false);
    // PostgreSQL options in the app's config: reported at once, the worker does not wait for a database it could never open.
    writeFileSync(
      join(app, "hrp-cron.config.js"),
      `const { defineConfig, ENTITIES, ModelRegistry } = require("hrp-cron");
       module.exports = defineConfig({
         dataSource: { type: "postgres", url: "postgres://nobody@127.0.0.1:1/none", entities: ENTITIES },
         registry: () => new ModelRegistry().register("app", { async noop() {} }),
       });`,
    );
    const postgres = node([cli, "worker", "--burst"]);
    expect(postgres.status).toBe(1);
    expect(postgres.stderr).toContain("DriverNotInstalledError");
    expect(postgres.stderr).toContain("npm install pg");
    rmSync(join(app, "hrp-cron.config.js"));
    // The library call an application makes reports it the same way.
    const options = node(["-e", `require("hrp-cron").defaultDataSourceOptions({ HRP_CRON_DB: "postgres://db/app" })`]);
    expect(options.stderr).toContain("DriverNotInstalledError");
    expect(options.stderr).toContain("npm install pg");

    link("better-sqlite3");
    const migrated = node([cli, "migrate"]);
    expect(migrated.stderr).toBe("");
    expect(migrated.status).toBe(0);
    expect(existsSync(join(app, "hrp-cron.sqlite"))).toBe(true);
  });

  it("loads @opentelemetry/api only for openTelemetryTracing(), and names it when it is missing", () => {
    const script = `const hrp = require("hrp-cron");
      try { hrp.openTelemetryTracing(); console.log("traced"); } catch (e) { console.log(e.name, e.code, e.message); }`;
    const missing = node(["-e", script]);
    expect(missing.stderr).toBe("");
    expect(missing.stdout).toMatch(
      /^PackageNotInstalledError PACKAGE_NOT_INSTALLED .*`npm install @opentelemetry\/api`/,
    );
    mkdirSync(join(app, "node_modules", "@opentelemetry"), { recursive: true });
    link("@opentelemetry/api");
    const installed = node(["-e", script]);
    expect(installed.stderr).toBe("");
    expect(installed.stdout.trim()).toBe("traced");
  });

  it("hrp-cron/nest names the NestJS package to install; once installed, a Nest application runs a job model and a typed job, reads their results and counts them in its metrics", () => {
    const missing = node(["-e", `require("hrp-cron/nest")`]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("Cannot find module '@nestjs/common'");
    expect(node(["-e", `console.log(typeof require("hrp-cron").JobQueue)`]).stdout.trim()).toBe("function"); // the main entry needs no Nest

    for (const name of ["@nestjs/common", "@nestjs/core", "@nestjs/typeorm", "rxjs", "better-sqlite3", "prom-client"])
      link(name);
    writeFileSync(join(app, "nest-app.js"), transpile(NEST_APP));
    const run = node(["nest-app.js"]);
    expect(run.stderr).toBe("");
    expect(run.stdout.trim().split("\n")).toEqual([
      JSON.stringify(["hello Ada, from user 1", { name: "Bob", jobs: 2, by: 1 }]),
      'hrp_cron_jobs_total{queue="default",outcome="done"} 2',
    ]);
    expect(run.status).toBe(0); // exited by itself: app.close() stopped the worker and the scheduler
  });
});

/** A Nest application using the packed package: TypeOrmModule's DataSource, a job model with an injected service, a typed job. */
const NEST_APP = `
import "reflect-metadata";
import { Injectable, Module } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { TypeOrmModule } from "@nestjs/typeorm";
import client from "prom-client";
import { defineJob, Dispatcher, ENTITIES, HrpCronJob, JobQueue, jobMethod, jobModel, ModelRegistry, prometheusMetrics, runAsUser, type JobEnv } from "hrp-cron";
import { HrpCronModule } from "hrp-cron/nest";

@Injectable()
class Greeter {
  greet(name: string, uid: number) { return \`hello \${name}, from user \${uid}\`; }
}

@Injectable()
@jobModel("app.greeting")
class GreetingJobs {
  constructor(private readonly greeter: Greeter) {}
  @jobMethod()
  async greet(env: JobEnv, kw: { name: string }) { return this.greeter.greet(kw.name, env.uid); }
}

@Injectable()
class ReportJobs {
  readonly count = defineJob("app.report.count", async (env, kw: { name: string }) =>
    ({ name: kw.name, jobs: await env.manager.count(HrpCronJob), by: env.uid }));
  constructor(registry: ModelRegistry) { registry.define(this.count); }
}

@Module({
  imports: [
    TypeOrmModule.forRoot({ type: "better-sqlite3", database: "nest.sqlite", entities: ENTITIES }),
    HrpCronModule.forRoot({ migrate: true }),
  ],
  providers: [Greeter, GreetingJobs, ReportJobs],
})
class AppModule {}

async function main() {
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  const dispatcher = app.get(Dispatcher);
  prometheusMetrics(client).watch(dispatcher);
  let succeeded = 0;
  const both = new Promise<void>((resolve) => dispatcher.events.on("job:success", () => ++succeeded === 2 && resolve()));
  const queue = app.get(JobQueue);
  const greeting = await runAsUser(1, () => queue.enqueue("app.greeting.greet", { kwargs: { name: "Ada" } }));
  const report = await queue.enqueue(app.get(ReportJobs).count, { kwargs: { name: "Bob" } });
  await both;
  const summary: { name: string; jobs: number; by: number } = await queue.getJobResult(report);
  console.log(JSON.stringify([await queue.getJobResult(greeting), summary]));
  console.log((await client.register.metrics()).split("\\n").find((l) => l.startsWith("hrp_cron_jobs_total{")));
  await app.close();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;
