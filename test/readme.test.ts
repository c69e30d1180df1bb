import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { BACKENDS, openTestDb, type TestDb } from "./helpers";
import { LIBRARY, runNode } from "./docs/cli";
import { examples, fileModule, ROOT, transpile } from "./docs/markdown";

/**
 * The README's quick start (`<!-- example: readme/quickstart (file) -->`), run
 * as a program, as pasted: on SQLite exactly as written (in an empty
 * directory), on PostgreSQL with its DataSource pointed at a test schema.
 * Its type check is in test/docs/docs.test.ts, with every other example.
 */
const SQLITE_OPTIONS = `{ type: "better-sqlite3", database: "quickstart.sqlite", entities: ENTITIES }`;

describe.each(BACKENDS)("README quick start on %s", (kind) => {
  it("runs as pasted: the job runs as the approving user and the worker stops on SIGINT", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hrp-cron-readme-"));
    const db = kind === "postgres" ? await openTestDb(kind) : null;
    try {
      let source = fileModule("readme/quickstart", LIBRARY);
      expect(source).toContain("Date.now() + 30_000");
      expect(source).toContain(SQLITE_OPTIONS);
      source = source.replace("Date.now() + 30_000", "Date.now() + 300"); // do not make the test wait 30 s
      if (db) source = source.replace(SQLITE_OPTIONS, postgresOptions(db));
      writeFileSync(join(dir, "quickstart.js"), transpile(source));
      const child = spawn(process.execPath, ["quickstart.js"], {
        cwd: dir,
        env: { ...process.env, NODE_PATH: join(ROOT, "node_modules") },
      });
      let output = "";
      child.stdout.on("data", (d: Buffer) => (output += d.toString()));
      child.stderr.on("data", (d: Buffer) => (output += d.toString()));
      const exited = new Promise((resolve) => child.on("exit", resolve));
      const deadline = Date.now() + 30_000;
      while (!/creating account moves for 12, 13 as user 1/.test(output) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      expect(output).toMatch(/creating account moves for 12, 13 as user 1/);
      // The job's completion commits right after the method returns.
      let state = "";
      while (state !== "done" && Date.now() < deadline) {
        state = await jobState(db ? (sql) => db.dataSource.query(sql) : sqliteReader(join(dir, "quickstart.sqlite")));
        if (state !== "done") await new Promise((r) => setTimeout(r, 50));
      }
      expect(state).toBe("done");
      child.kill("SIGINT");
      expect(await exited).toBe(0);
    } finally {
      await db?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The README's NestJS example (`<!-- example: readme/nest (file) -->`), run as
 * a program, as pasted (its `hrp-cron/nest` is the compiled subpath): on
 * SQLite exactly as written, on PostgreSQL with TypeOrmModule's options
 * pointed at a fresh test schema that its `migrate: true` fills. It prints
 * what the README says and exits by itself once `app.close()` has stopped
 * the worker.
 */
const NEST_SQLITE_OPTIONS = `{ type: "better-sqlite3", database: "nest.sqlite", entities: ENTITIES }`;

describe.each(BACKENDS)("README NestJS example on %s", (kind) => {
  it("runs as pasted: the job model's method runs with its injected service as user 1, and the app exits", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hrp-cron-readme-nest-"));
    const db = kind === "postgres" ? await openTestDb(kind, [], []) : null;
    try {
      let source = fileModule("readme/nest", LIBRARY);
      expect(source).toContain(NEST_SQLITE_OPTIONS);
      if (db) source = source.replace(NEST_SQLITE_OPTIONS, postgresOptions(db));
      writeFileSync(join(dir, "nest.js"), transpile(source));
      const result = await runNode(["nest.js"], { cwd: dir, env: { NODE_PATH: join(ROOT, "node_modules") } });
      expect(result.stderr).toBe("");
      expect(result.stdout).toBe(examples().get("readme/nest")!.output);
      expect(result.code).toBe(0);
      expect(existsSync(join(dir, "nest.sqlite"))).toBe(!db);
    } finally {
      await db?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The README's dashboard examples (`readme/dashboard-express`, `-fastify`,
 * `-nest`), each run as a program as pasted (its port 3000 replaced by a
 * free one; on PostgreSQL its DataSource pointed at a fresh schema that it
 * migrates): it prints its URL, and its resolvers let the admin act, the
 * auditor only look, and nobody else in.
 */
const DASHBOARD_SQLITE_OPTIONS = `{ type: "better-sqlite3", database: "app.sqlite", entities: ENTITIES }`;
const DASHBOARD_EXAMPLES = ["readme/dashboard-express", "readme/dashboard-fastify", "readme/dashboard-nest"];

describe.each(BACKENDS)("README dashboard examples on %s", (kind) => {
  it.each(DASHBOARD_EXAMPLES)("%s runs as pasted: its users get the access its resolvers give", async (name) => {
    const dir = mkdtempSync(join(tmpdir(), "hrp-cron-readme-dashboard-"));
    const db = kind === "postgres" ? await openTestDb(kind, [], []) : null;
    const port = await freePort();
    let source = fileModule(name, LIBRARY);
    expect(source).toContain(DASHBOARD_SQLITE_OPTIONS);
    expect(source).toContain("3000");
    source = source.replaceAll("3000", String(port));
    if (db) source = source.replace(DASHBOARD_SQLITE_OPTIONS, postgresOptions(db));
    writeFileSync(join(dir, "app.js"), transpile(source));
    const child = spawn(process.execPath, ["app.js"], {
      cwd: dir,
      env: { ...process.env, NODE_PATH: join(ROOT, "node_modules") },
    });
    try {
      let output = "";
      child.stdout.on("data", (d: Buffer) => (output += d.toString()));
      child.stderr.on("data", (d: Buffer) => (output += d.toString()));
      const url = `http://localhost:${port}/admin/jobs/jobs`;
      for (const deadline = Date.now() + 30_000; !output.includes(url) && Date.now() < deadline;)
        await new Promise((r) => setTimeout(r, 50));
      expect(output).toBe(`dashboard on ${url}\n`);
      const as = (token?: string) => fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      const admin = await as("token-of-li-na");
      expect(admin.status).toBe(200);
      const adminPage = await admin.text();
      expect(adminPage).toContain("Signed in as li.na");
      expect(adminPage).not.toContain("read only");
      const auditor = await (await as("token-of-wang-fang")).text();
      expect(auditor).toContain("Signed in as wang.fang · read only");
      expect((await as()).status).toBe(403);
      expect((await as("token-of-nobody")).status).toBe(403);
    } finally {
      child.kill("SIGTERM");
      await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.on("exit", resolve)));
      await db?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A port nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** TypeORM options (TypeScript source) for the test database's PostgreSQL schema, in place of an example's SQLite file. */
function postgresOptions(db: TestDb): string {
  const { pgUrl, pgSchema } = db.location;
  const options = { type: "postgres", url: pgUrl, schema: pgSchema, extra: { options: `-c search_path=${pgSchema}` } };
  return `{ ...${JSON.stringify(options)}, entities: ENTITIES } as any`;
}

type Reader = (sql: string) => Promise<Array<Record<string, unknown>>>;

async function jobState(read: Reader): Promise<string> {
  const [row] = await read("SELECT state FROM hrp_cron_job WHERE id = 1");
  return (row?.state as string | undefined) ?? "";
}

function sqliteReader(file: string): Reader {
  return async (sql) => {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare(sql).all() as Array<Record<string, unknown>>;
    } finally {
      db.close();
    }
  };
}
