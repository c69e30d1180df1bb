import "reflect-metadata";
import { Console } from "node:console";
import { Writable } from "node:stream";
import { Column, Entity, PrimaryGeneratedColumn, type DataSource } from "typeorm";
import * as hrpCron from "../../src";
import { openTestDb, type BackendName, type TestDb } from "../helpers";
import { examples, snippetModule, transpile } from "./markdown";

/**
 * What the guides' snippets are given (each guide says so at the top): the
 * names a snippet uses without declaring them.
 */
export interface DocGivens {
  /** An initialized TypeORM DataSource whose entities include hrp-cron's `ENTITIES` (and `Application`), migrated with `migrate()`. */
  readonly dataSource: DataSource;
  /** Stands for one of the application's own entities: an application form to approve. */
  readonly Application: typeof Application;
  /** Where the snippet prints; the tests read it. */
  readonly console: Console;
}

/** The application's own entity in the guides' examples. */
@Entity("application")
export class Application {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: "varchar", length: 64 })
  name!: string;

  @Column({ type: "varchar", length: 16 })
  state!: string;
}

/** A fresh migrated database (SQLite file or PostgreSQL schema) with the `application` table. */
export async function openDocsDb(kind: BackendName): Promise<TestDb> {
  const db = await openTestDb(kind, [Application]);
  const id = kind === "sqlite" ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "SERIAL PRIMARY KEY";
  await db.dataSource.query(`CREATE TABLE application (id ${id}, name varchar(64) NOT NULL, state varchar(16) NOT NULL)`);
  return db;
}

export interface SnippetRun {
  /** The top-level names the snippets declared, with their values at the end. */
  readonly values: Record<string, unknown>;
  /** What they printed with `console`. */
  readonly output: string;
}

/**
 * Runs the docs' snippet `name` (after the snippets it continues) in this
 * process, against `dataSource`, with `"hrp-cron"` bound to the library's
 * public API (src/index.ts).
 */
export async function runSnippet(name: string, dataSource: DataSource): Promise<SnippetRun> {
  const js = transpile(snippetModule(name, "hrp-cron", "./givens"));
  const module = { exports: {} as { run?: (givens: DocGivens) => Promise<Record<string, unknown>> } };
  const load = (spec: string): unknown => (spec === "hrp-cron" ? hrpCron : require(spec));
  new Function("exports", "require", "module", js)(module.exports, load, module);
  let output = "";
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      output += chunk.toString();
      done();
    },
  });
  const values = await module.exports.run!({ dataSource, Application, console: new Console({ stdout: sink, stderr: sink }) });
  return { values, output };
}

/**
 * A test that runs snippet `name` on a fresh database of `kind`, expects it
 * to print what the docs' output block says (when they show one), then runs
 * `check`. The library's console logging is silenced meanwhile.
 */
export function itRunsExample(kind: BackendName, name: string, check?: (run: SnippetRun, db: TestDb) => Promise<void>): void {
  it(`runs the example ${name} as documented`, async () => {
    const level = process.env.HRP_CRON_LOG_LEVEL;
    process.env.HRP_CRON_LOG_LEVEL = "silent";
    const db = await openDocsDb(kind);
    try {
      const run = await runSnippet(name, db.dataSource);
      const expected = examples().get(name)!.output;
      if (expected !== null) expect(run.output).toBe(expected);
      await check?.(run, db);
    } finally {
      if (level === undefined) delete process.env.HRP_CRON_LOG_LEVEL;
      else process.env.HRP_CRON_LOG_LEVEL = level;
      await db.close();
    }
  });
}
