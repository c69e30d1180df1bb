import { execFileSync, spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(__dirname, "..", "..");
const FIXTURES = join(__dirname, "..", "fixtures");
const OTEL = ["@opentelemetry/api", "@opentelemetry/sdk-trace-base", "@opentelemetry/context-async-hooks"];
const NEST = ["@nestjs/common", "@nestjs/core", "@nestjs/typeorm", "rxjs", "reflect-metadata"];

/**
 * The "done when", as a new user would do it: a fresh application
 * on TypeORM 0.3 and one on TypeORM 1.x each `npm install` the packed
 * tarball (from the npm registry, preferring npm's cache) with their own
 * TypeORM, and get one TypeORM (none nested under hrp-cron); run hrp-cron's
 * migrations with their own `typeorm migration:run`; run their own
 * `typeorm migration:generate`, which plans only their own table; compile a
 * typed job with their own TypeScript (wrong calls refused by the
 * compiler), enqueue it inside a request's span, run it and read its result
 * back, and see its span (a child of the request's) and its Prometheus
 * metrics.
 * better-sqlite3 (a native build) is linked from this repository instead of
 * compiled again.
 */
describe.each([
  ["TypeORM 0.3", "typeorm@^0.3.20", /^0\.3\./, "fresh-app", [] as string[]],
  ["TypeORM 1.x", "typeorm@^1.0.0", /^1\./, "fresh-app", [] as string[]],
  ["TypeORM 1.x with NestJS (hrp-cron/nest)", "typeorm@^1.0.0", /^1\./, "fresh-nest-app", NEST],
])("a fresh application on %s", (_label, typeormSpec, version, fixture, extra) => {
  const nest = fixture === "fresh-nest-app";
  let dir: string;
  let app: string;

  function run(command: string, args: string[]) {
    const result = spawnSync(command, args, { cwd: app, encoding: "utf8", timeout: 240_000 });
    if (result.status !== 0) {
      throw new Error(`${command} ${args.join(" ")} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
    }
    return result.stdout;
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "hrp-cron-fresh-app-"));
    const packed = execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", dir], {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    const [{ filename }] = JSON.parse(packed) as Array<{ filename: string }>;
    app = join(dir, "app");
    mkdirSync(app);
    cpSync(join(FIXTURES, "fresh-app"), app, { recursive: true });
    if (nest) cpSync(join(FIXTURES, fixture), app, { recursive: true }); // its app.ts and tsconfig.json over the plain app's
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "fresh-app", private: true }));
    const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const devVersion = (name: string) => manifest.devDependencies[name] ?? manifest.dependencies[name];
    run("npm", [
      "install",
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      join(dir, filename),
      typeormSpec,
      ...["prom-client", ...OTEL, ...extra].map((name) => `${name}@${devVersion(name)}`),
      `typescript@${devVersion("typescript")}`,
      `@types/node@${devVersion("@types/node")}`,
    ]);
    // The SQLite driver, already built for this Node (npm would compile it again: a minute of node-gyp).
    for (const name of ["better-sqlite3", "bindings", "file-uri-to-path"]) {
      if (!existsSync(join(app, "node_modules", name))) {
        symlinkSync(join(root, "node_modules", name), join(app, "node_modules", name), "dir");
      }
    }
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("has one TypeORM, the application's, with none nested under hrp-cron", () => {
    const installed = JSON.parse(readFileSync(join(app, "node_modules", "typeorm", "package.json"), "utf8")) as {
      version: string;
    };
    expect(installed.version).toMatch(version);
    expect(existsSync(join(app, "node_modules", "hrp-cron", "node_modules"))).toBe(false);
    const tree = JSON.parse(run("npm", ["ls", "typeorm", "--all", "--json"])) as {
      dependencies: Record<string, { version: string; dependencies?: Record<string, { version: string }> }>;
    };
    expect(tree.dependencies.typeorm.version).toBe(installed.version);
    expect(tree.dependencies["hrp-cron"].dependencies?.typeorm?.version).toBe(installed.version); // deduped
  });

  it("runs hrp-cron's migrations with its own migration:run, and migration:generate plans only its own table", () => {
    const typeorm = join("node_modules", "typeorm", "cli.js");
    run(process.execPath, [typeorm, "migration:run", "-d", "data-source.js"]);
    run(process.execPath, [typeorm, "migration:generate", "-d", "data-source.js", "-o", "migrations/Init"]);
    const [generated] = readdirSync(join(app, "migrations"));
    const statements = readFileSync(join(app, "migrations", generated), "utf8")
      .split("\n")
      .filter((line) => line.includes("queryRunner.query("));
    expect(statements.length).toBe(2); // CREATE TABLE "patient" in up(), DROP TABLE "patient" in down()
    for (const statement of statements) expect(statement).toMatch(/(CREATE|DROP) TABLE "patient"/);
    // Applied, the database is up to date: nothing more to plan, hrp-cron's tables included.
    run(process.execPath, [typeorm, "migration:run", "-d", "data-source.js"]);
    run(process.execPath, [typeorm, "migration:generate", "-d", "data-source.js", "--check", "migrations/Nothing"]);
  });

  it("compiles a typed job with its own TypeScript, runs it, reads its result back, sees its span and its metrics", () => {
    run(process.execPath, [join("node_modules", "typescript", "bin", "tsc"), "-p", "."]);
    const out = JSON.parse(run(process.execPath, [join("dist", "app.js")])) as {
      result?: unknown;
      results?: unknown[];
      spans: Array<{ name: string; traceId: string; spanId: string; parentSpanId: string | null }>;
      metrics: string[];
    };
    const request = out.spans.find((s) => s.name === (nest ? "POST /month-end" : "POST /reports"))!;
    const runs = out.spans.filter((s) => s.name.startsWith("hrp-cron run "));
    expect(runs.map((s) => s.name).sort()).toEqual(
      nest
        ? ["hrp-cron run app.month.close", "hrp-cron run app.report.summarize"]
        : ["hrp-cron run app.report.summarize"],
    );
    for (const jobRun of runs) expect([jobRun.traceId, jobRun.parentSpanId]).toEqual([request.traceId, request.spanId]); // children of the request
    if (nest) {
      // The job model's method used its injected service; the app closed by itself (the worker stopped with it).
      expect(out.results).toEqual(["ward A closed by user 1", { month: "2026-12", by: 1 }]);
      expect(out.metrics).toEqual([expect.stringMatching(/^hrp_cron_jobs_total\{queue="default",outcome="done"\} 2$/)]);
    } else {
      expect(out.result).toEqual({ month: "2026-12", by: 1 });
      expect(out.metrics).toEqual([expect.stringMatching(/^hrp_cron_jobs_total\{queue="default",outcome="done"\} 1$/)]);
    }
  });
});
