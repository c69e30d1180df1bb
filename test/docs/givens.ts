import "reflect-metadata";
import { Console } from "node:console";
import { Writable } from "node:stream";
import { Column, Entity, PrimaryGeneratedColumn, type DataSource } from "typeorm";
import * as hrpCron from "../../src";
import * as hrpCronTesting from "../../src/testing";
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
  /** Another of the application's entities: the accounting entry a job creates for an approved application. */
  readonly AccountMove: typeof AccountMove;
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

/** The application's accounting entry in the guides' examples, one per application (unique `ref`). */
@Entity("account_move")
export class AccountMove {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: "varchar", length: 64, unique: true })
  ref!: string;

  @Column({ name: "application_id", type: "integer" })
  applicationId!: number;

  /** The user the job ran as. */
  @Column({ name: "create_uid", type: "integer" })
  createUid!: number;
}

/** A fresh migrated database (SQLite file or PostgreSQL schema) with the `application` and `account_move` tables. */
export async function openDocsDb(kind: BackendName): Promise<TestDb> {
  const db = await openTestDb(kind, [Application, AccountMove]);
  const id = kind === "sqlite" ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "SERIAL PRIMARY KEY";
  await db.dataSource.query(`CREATE TABLE application (id ${id}, name varchar(64) NOT NULL, state varchar(16) NOT NULL)`);
  await db.dataSource.query(
    `CREATE TABLE account_move (id ${id}, ref varchar(64) NOT NULL UNIQUE, application_id integer NOT NULL, create_uid integer NOT NULL)`,
  );
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
 * public API (src/index.ts) and `"hrp-cron/testing"` to its test helpers (src/testing).
 */
export async function runSnippet(name: string, dataSource: DataSource): Promise<SnippetRun> {
  const js = transpile(snippetModule(name, "hrp-cron", "./givens"));
  const module = { exports: {} as { run?: (givens: DocGivens) => Promise<Record<string, unknown>> } };
  const library: Record<string, unknown> = { "hrp-cron": hrpCron, "hrp-cron/testing": hrpCronTesting };
  const load = (spec: string): unknown => (Object.hasOwn(library, spec) ? library[spec] : require(spec));
  new Function("exports", "require", "module", js)(module.exports, load, module);
  let output = "";
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      output += chunk.toString();
      done();
    },
  });
  const values = await module.exports.run!({ dataSource, Application, AccountMove, console: new Console({ stdout: sink, stderr: sink }) });
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
