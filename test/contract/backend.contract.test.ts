import { QueryFailedError, type EntityManager } from "typeorm";
import {
  backendFor,
  DatabaseBusyError,
  JobScopeClosedError,
  PreparedStatementLostError,
  type Backend,
} from "../../src";
import { BACKENDS, openTestDb, type TestDb } from "../helpers";

/**
 * The Backend contract: what every dialect must do the same way, checked
 * against a real database of each kind. The engine relies on each of these
 * (dates and booleans read back by raw SQL, bulk rows passed as one JSON
 * parameter, id lists, transient errors, job savepoints, commit status).
 */
describe.each(BACKENDS)("Backend contract on %s", (kind) => {
  let db: TestDb;
  let backend: Backend;
  const tx = <T>(work: (m: EntityManager) => Promise<T>) => backend.transaction(work);

  beforeEach(async () => {
    db = await openTestDb(kind);
    backend = backendFor(db.dataSource);
    await tx((m) =>
      backend.execute(
        m,
        `CREATE TABLE contract_probe (id ${backend.ddl.serialPrimaryKey}, at ${backend.ddl.timestamp}, flag boolean, note text UNIQUE)`,
      ),
    );
  });
  afterEach(async () => {
    await db.close();
  });

  it("names its dialect and says whether its transactions run one at a time", () => {
    expect(backend.dialect).toBe(kind);
    expect(backend.serialTransactions).toBe(kind === "sqlite");
    expect(backend.claimLockClause).toBe(kind === "postgres" ? "FOR UPDATE SKIP LOCKED" : "");
  });

  it("says whether one statement can write several tables (a data-modifying WITH), and it can exactly then", async () => {
    expect(backend.dataModifyingWith).toBe(kind === "postgres");
    const write = tx((m) =>
      backend.query(
        m,
        `WITH a AS (INSERT INTO contract_probe (note) VALUES ('w1') RETURNING id) INSERT INTO contract_probe (note) SELECT 'w2' FROM a`,
      ),
    );
    if (backend.dataModifyingWith) {
      await write;
      expect(await tx((m) => backend.query(m, `SELECT note FROM contract_probe ORDER BY note`))).toEqual([
        { note: "w1" },
        { note: "w2" },
      ]);
    } else {
      // Refused by SQLite's parser. Not `rejects.toThrow()`: TypeORM 0.3 passes an error of the prepare step on
      // unwrapped, a better-sqlite3 SqliteError whose class comes from the jest module registry of whichever test
      // file first loaded the (process-wide) native addon, so in other files it is no `Error` to jest.
      await expect(write).rejects.toHaveProperty("message", expect.stringMatching(/syntax error/));
    }
  });

  it("writes dates and booleans as bind parameters and reads them back through raw SQL, to the millisecond", async () => {
    const at = new Date("2026-03-29T01:30:15.123Z");
    const early = new Date("0001-01-01T00:00:00.000Z");
    await tx(async (m) => {
      await backend.execute(m, `INSERT INTO contract_probe (at, flag, note) VALUES (?, ?, ?)`, [
        backend.toDbDate(at),
        true,
        "a",
      ]);
      await backend.execute(m, `INSERT INTO contract_probe (at, flag, note) VALUES (?, ?, ?)`, [
        backend.toDbDate(early),
        false,
        "b",
      ]);
      await backend.execute(m, `INSERT INTO contract_probe (at, flag, note) VALUES (?, ?, ?)`, [null, null, "c"]);
    });
    const rows = await tx((m) =>
      backend.query<{ at: unknown; flag: unknown; note: string }>(
        m,
        `SELECT at, flag, note FROM contract_probe ORDER BY note`,
      ),
    );
    expect(
      rows.map((r) => [
        backend.fromDbDate(r.at)?.toISOString() ?? null,
        r.flag === null ? null : backend.fromDbBool(r.flag),
      ]),
    ).toEqual([
      [at.toISOString(), true],
      [early.toISOString(), false],
      [null, null],
    ]);
    // Dates compare in time order in SQL, whatever their text or native form.
    const [later] = await tx((m) =>
      backend.query<{ note: string }>(m, `SELECT note FROM contract_probe WHERE at > ?`, [
        backend.toDbDate(new Date("2000-01-01T00:00:00Z")),
      ]),
    );
    expect(later.note).toBe("a");
  });

  it("reads rows passed as one JSON parameter (jsonTable), nulls included, with the columns' types", async () => {
    const columns = { id: "int", at: "timestamp", flag: "bool", note: "text" } as const;
    const at = new Date("2026-11-23T08:00:00.000Z");
    const rows = await tx((m) =>
      backend.query<{ id: unknown; at: unknown; flag: unknown; note: string | null }>(
        m,
        `SELECT v.id, v.at, v.flag, v.note FROM ${backend.jsonTable("v", columns)} ORDER BY v.id`,
        [
          backend.jsonRows(columns, [
            { id: 2, at: null, flag: null, note: null },
            { id: 1, at, flag: true, note: "x'\"?" },
          ]),
        ],
      ),
    );
    expect(
      rows.map((r) => [
        Number(r.id),
        backend.fromDbDate(r.at)?.toISOString() ?? null,
        r.flag === null ? null : backend.fromDbBool(r.flag),
        r.note,
      ]),
    ).toEqual([
      [1, at.toISOString(), true, "x'\"?"],
      [2, null, null, null],
    ]);
  });

  it("updates many rows from JSON rows in one statement (updateFrom), matching rows by id", async () => {
    await tx(async (m) => {
      for (const note of ["a", "b", "c"])
        await backend.execute(m, `INSERT INTO contract_probe (flag, note) VALUES (?, ?)`, [false, note]);
    });
    const columns = { id: "int", flag: "bool" } as const;
    const n = await tx((m) =>
      backend.execute(
        m,
        `UPDATE contract_probe SET flag = v.flag ${backend.updateFrom("contract_probe", "v", columns)}`,
        backend.updateFromParams(columns, [
          { id: 1, flag: true },
          { id: 3, flag: true },
        ]),
      ),
    );
    expect(n).toBe(2);
    const rows = await tx((m) =>
      backend.query<{ id: unknown; flag: unknown }>(m, `SELECT id, flag FROM contract_probe ORDER BY id`),
    );
    expect(rows.map((r) => [Number(r.id), backend.fromDbBool(r.flag)])).toEqual([
      [1, true],
      [2, false],
      [3, true],
    ]);
  });

  it("matches a column against an id list bound to one parameter (idIn), empty lists included", async () => {
    await tx(async (m) => {
      for (const note of ["a", "b", "c", "d"])
        await backend.execute(m, `INSERT INTO contract_probe (note) VALUES (?)`, [note]);
    });
    const ids = async (list: number[]) =>
      (
        await tx((m) =>
          backend.query<{ id: unknown }>(m, `SELECT id FROM contract_probe WHERE ${backend.idIn("id")} ORDER BY id`, [
            backend.idList(list),
          ]),
        )
      ).map((r) => Number(r.id));
    expect(await ids([4, 2, 99])).toEqual([2, 4]);
    expect(await ids([])).toEqual([]);
  });

  it("binds `?` placeholders in order, however many", async () => {
    const [row] = await tx((m) =>
      backend.query<{ a: unknown; b: unknown; c: unknown }>(m, `SELECT ? AS a, ? AS b, ? AS c`, ["1", "2", "3"]),
    );
    expect([String(row.a), String(row.b), String(row.c)]).toEqual(["1", "2", "3"]);
  });

  it("says which errors are transient (retry) and which are a unique violation", async () => {
    const driverError = (code: string) =>
      new QueryFailedError("SELECT 1", [], Object.assign(new Error(code), { code }));
    const transient =
      kind === "sqlite"
        ? ["SQLITE_BUSY", "SQLITE_BUSY_SNAPSHOT", "SQLITE_LOCKED"]
        : ["40001", "40P01", "57P01", "08006", "ECONNREFUSED"];
    for (const code of transient) expect(backend.isTransientError(driverError(code))).toBe(true);
    expect(backend.isTransientError(driverError(kind === "sqlite" ? "SQLITE_CONSTRAINT_UNIQUE" : "23505"))).toBe(false);
    expect(backend.isTransientError(new Error("a job's own bug"))).toBe(false);
    expect(
      backend.isTransientError(
        kind === "sqlite" ? new DatabaseBusyError("x.sqlite", 10, null) : new PreparedStatementLostError("s", "26000"),
      ),
    ).toBe(true);
    // A real unique violation, raised by the database itself.
    await tx((m) => backend.execute(m, `INSERT INTO contract_probe (note) VALUES (?)`, ["same"]));
    const duplicate = await tx((m) =>
      backend.execute(m, `INSERT INTO contract_probe (note) VALUES (?)`, ["same"]),
    ).catch((error: unknown) => error);
    expect(backend.isUniqueViolation(duplicate)).toBe(true);
    expect(backend.isTransientError(duplicate)).toBe(false);
  });

  it("runs a job in a savepoint opened by its first query: released writes stay, rolled-back ones go, late queries are refused", async () => {
    await tx(async (m) => {
      const runner = m.queryRunner!;
      const kept = backend.jobScope(runner, "hrp_job_1", 1000, 1);
      await kept.run(() => m.query(`INSERT INTO contract_probe (note) VALUES ('kept')`));
      await kept.release();
      const undone = backend.jobScope(runner, "hrp_job_2", null, 2);
      await undone.run(() => m.query(`INSERT INTO contract_probe (note) VALUES ('undone')`));
      await undone.rollback();
      await expect(undone.run(() => m.query(`SELECT 1`))).rejects.toBeInstanceOf(JobScopeClosedError);
      const untouched = backend.jobScope(runner, "hrp_job_3", null, 3); // never queries: no savepoint at all
      await untouched.release();
      // hrp-cron's own statements run outside any scope, in the same transaction.
      await backend.execute(m, `INSERT INTO contract_probe (note) VALUES (?)`, ["engine"]);
    });
    const notes = await tx((m) => backend.query<{ note: string }>(m, `SELECT note FROM contract_probe ORDER BY note`));
    expect(notes.map((r) => r.note)).toEqual(["engine", "kept"]);
  });

  it("commits a transaction exactly once and can say afterwards whether one committed", async () => {
    const value = await backend.trackedTransaction(async (m) => {
      await backend.execute(m, `INSERT INTO contract_probe (note) VALUES (?)`, ["tracked"]);
      return "produced";
    });
    expect(value).toBe("produced");
    if (kind === "sqlite") {
      // SQLite's COMMIT has no reply to lose: it is never asked.
      expect(await backend.commitStatus({ transactionId: "1", serverPid: null })).toBe("unknown");
      return;
    }
    const committed = await tx(
      async (m) => (await backend.query<{ txid: string }>(m, `SELECT txid_current()::text AS txid`))[0].txid,
    );
    let aborted = "";
    await tx(async (m) => {
      aborted = (await backend.query<{ txid: string }>(m, `SELECT txid_current()::text AS txid`))[0].txid;
      throw new Error("roll back");
    }).catch(() => undefined);
    expect(await backend.commitStatus({ transactionId: committed, serverPid: null })).toBe("committed");
    expect(await backend.commitStatus({ transactionId: aborted, serverPid: null })).toBe("aborted");
  });

  it("joins a caller's open transaction (inTransaction) and opens its own otherwise", async () => {
    await db.dataSource
      .transaction(async (m) => {
        await backend.inTransaction(m, (joined) =>
          backend.execute(joined, `INSERT INTO contract_probe (note) VALUES (?)`, ["joined"]),
        );
        throw new Error("the caller rolls back");
      })
      .catch(() => undefined);
    await backend.inTransaction(undefined, (own) =>
      backend.execute(own, `INSERT INTO contract_probe (note) VALUES (?)`, ["own"]),
    );
    const notes = await tx((m) => backend.query<{ note: string }>(m, `SELECT note FROM contract_probe`));
    expect(notes.map((r) => r.note)).toEqual(["own"]);
  });
});
