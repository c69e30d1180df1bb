import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { BACKENDS, openTestDb } from "./helpers";
import { LIBRARY } from "./docs/cli";
import { fileModule, ROOT, transpile } from "./docs/markdown";

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
      if (db) {
        const { pgUrl, pgSchema } = db.location;
        const options = {
          type: "postgres",
          url: pgUrl,
          schema: pgSchema,
          extra: { options: `-c search_path=${pgSchema}` },
        };
        source = source.replace(SQLITE_OPTIONS, `{ ...${JSON.stringify(options)}, entities: ENTITIES } as any`);
      }
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
