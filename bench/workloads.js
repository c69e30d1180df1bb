// The benchmark workloads: no-op jobs, and jobs that write to an application table (what HRP jobs do: every job
// books something). One definition, used by every system's adapter, so every system runs the same statements.
//
// The application schema is an accounting toy: bench_account (10 reference rows), bench_move (one row per job, keyed
// by the job's key) and bench_move_line. bench_move.job_key has a plain, NOT a unique, index: a job that ran twice
// must show up as a duplicate in the exactly-once check instead of failing on a constraint (which would hide it).
"use strict";
const { Client } = require("pg");

const ACCOUNTS = 10;
const amountOf = (k) => 100 + (k % 997);
const accountOf = (k) => 1 + (k % ACCOUNTS);

/**
 * A workload: key (for --workloads and the JSON), label, statementsPerJob (0 for no-op), and, for writing workloads,
 * job(db, k): the job's work through an adapter's db ({ query(sql, params) -> rows, transaction(fn(db)) }).
 */
const WORKLOADS = [
  { key: "noop", label: "no-op jobs", statementsPerJob: 0 },
  {
    key: "write1",
    label: "jobs writing one row",
    statementsPerJob: 1,
    description:
      "each job inserts one row (its unique key) into the application table bench_move: one INSERT, committed with the job's bookkeeping where the system can (hrp-cron), else on its own (autocommit)",
    async job(db, k) {
      await db.query("INSERT INTO bench_move (job_key, account_id, amount) VALUES ($1, $2, $3)", [
        k,
        accountOf(k),
        amountOf(k),
      ]);
    },
  },
  {
    key: "write5",
    label: "jobs running 5 statements in one transaction",
    statementsPerJob: 5,
    description:
      "each job, in one transaction, reads its account (SELECT), inserts a bench_move row (its unique key) and two bench_move_line rows, and marks the move posted (UPDATE ... WHERE job_key): 5 statements; peers wrap them in BEGIN/COMMIT on one pooled connection, hrp-cron runs them in the job's own transaction (a savepoint of its batch)",
    async job(db, k) {
      await db.transaction(async (q) => {
        const [account] = await q.query("SELECT id, rate FROM bench_account WHERE id = $1", [accountOf(k)]);
        const amount = amountOf(k) * Number(account.rate);
        await q.query("INSERT INTO bench_move (job_key, account_id, amount) VALUES ($1, $2, $3)", [
          k,
          account.id,
          amount,
        ]);
        await q.query("INSERT INTO bench_move_line (job_key, side, amount) VALUES ($1, 'debit', $2)", [k, amount]);
        await q.query("INSERT INTO bench_move_line (job_key, side, amount) VALUES ($1, 'credit', $2)", [k, amount]);
        await q.query("UPDATE bench_move SET state = 'posted' WHERE job_key = $1", [k]);
      });
    },
  },
];
const workload = (key) => {
  const w = WORKLOADS.find((x) => x.key === key);
  if (!w)
    throw new Error(
      `unknown workload ${JSON.stringify(key)}: expected one of ${WORKLOADS.map((x) => x.key).join(", ")}`,
    );
  return w;
};

/** PostgreSQL's $1, $2 ... placeholders as SQLite's ? (every statement here uses each parameter once, in order). */
const forDialect = (dialect, sql) => (dialect === "sqlite" ? sql.replace(/\$\d+/g, "?") : sql);

function schema(dialect) {
  const serial = dialect === "sqlite" ? "INTEGER PRIMARY KEY" : "BIGSERIAL PRIMARY KEY";
  return [
    "CREATE TABLE bench_account (id INTEGER PRIMARY KEY, name VARCHAR(64) NOT NULL, rate INTEGER NOT NULL)",
    `INSERT INTO bench_account (id, name, rate) VALUES ${Array.from({ length: ACCOUNTS }, (_, i) => `(${i + 1}, 'account ${i + 1}', ${1 + (i % 3)})`).join(", ")}`,
    `CREATE TABLE bench_move (id ${serial}, job_key INTEGER NOT NULL, account_id INTEGER NOT NULL, amount INTEGER NOT NULL, state VARCHAR(16) NOT NULL DEFAULT 'draft')`,
    "CREATE INDEX bench_move_job_key_idx ON bench_move (job_key)",
    `CREATE TABLE bench_move_line (id ${serial}, job_key INTEGER NOT NULL, side VARCHAR(8) NOT NULL, amount INTEGER NOT NULL)`,
  ];
}

/** A db for job code on a TypeORM EntityManager (hrp-cron's env.manager): already inside the job's transaction. */
function managerDb(manager, dialect) {
  const db = {
    query: (sql, params) => manager.query(forDialect(dialect, sql), params),
    transaction: (fn) => fn(db),
  };
  return db;
}

/** A db for job code on a node-postgres pool (pg.Pool): one statement per pool.query, a transaction on one checked-out client. */
function poolDb(pool) {
  return {
    query: async (sql, params) => (await pool.query(sql, params)).rows,
    async transaction(fn) {
      const client = await pool.connect();
      try {
        return await clientTransaction(client, fn);
      } finally {
        client.release();
      }
    },
  };
}

/** A db for job code through graphile-worker's own helpers (helpers.query / helpers.withPgClient, on its pool). */
function graphileDb(helpers) {
  return {
    query: async (sql, params) => (await helpers.query(sql, params)).rows,
    transaction: (fn) => helpers.withPgClient((client) => clientTransaction(client, fn)),
  };
}

async function clientTransaction(client, fn) {
  await client.query("BEGIN");
  try {
    const r = await fn({ query: async (sql, params) => (await client.query(sql, params)).rows });
    await client.query("COMMIT");
    return r;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

/**
 * The harness's own connection to the application tables, separate from every connection of the system under test:
 * what it sees is committed (PostgreSQL: another session; SQLite: another connection to the WAL-mode file).
 * query(sql, params) -> rows.
 */
async function openAppStore({ pgUrl, sqliteFile }) {
  if (sqliteFile) {
    const Database = require("better-sqlite3");
    const db = new Database(sqliteFile, { timeout: 10_000 });
    return {
      dialect: "sqlite",
      query: async (sql, params = []) => {
        const stmt = db.prepare(forDialect("sqlite", sql));
        return stmt.reader ? stmt.all(...params) : (stmt.run(...params), []);
      },
      close: async () => db.close(),
    };
  }
  const client = new Client({ connectionString: pgUrl });
  client.on("error", () => undefined);
  await client.connect();
  return {
    dialect: "postgres",
    query: async (sql, params) => (await client.query(sql, params)).rows,
    close: () => client.end().catch(() => undefined),
  };
}

async function createSchema(store) {
  for (const sql of schema(store.dialect)) await store.query(sql);
}

/** Committed bench_move rows: the drain's end-condition probe (a cheap count, polled only after the N-th handler returned). */
async function visibleRows(store) {
  return Number((await store.query("SELECT count(*) AS n FROM bench_move"))[0].n);
}

/**
 * The exactly-once check after a drain of n jobs keyed 0..n-1: n bench_move rows with n distinct keys spanning
 * 0..n-1 (so every key is there once), and for the 5-statement workload 2n lines and n posted moves.
 * Returns { ok, rows, keys, ... , problem } where problem says what was lost or duplicated.
 */
async function checkExactlyOnce(store, w, n) {
  const [m] = await store.query(
    "SELECT count(*) AS n, count(DISTINCT job_key) AS keys, min(job_key) AS lo, max(job_key) AS hi, " +
      "sum(CASE WHEN state = 'posted' THEN 1 ELSE 0 END) AS posted FROM bench_move",
  );
  const r = { rows: Number(m.n), keys: Number(m.keys) };
  const problems = [];
  if (r.rows !== r.keys) problems.push(`${r.rows - r.keys} duplicated row(s)`);
  if (r.keys !== n || (n > 0 && (Number(m.lo) !== 0 || Number(m.hi) !== n - 1)))
    problems.push(`${n - r.keys} key(s) lost (${r.keys} distinct of ${n})`);
  if (w.statementsPerJob === 5) {
    r.lines = Number((await store.query("SELECT count(*) AS n FROM bench_move_line"))[0].n);
    r.posted = Number(m.posted);
    if (r.lines !== 2 * n) problems.push(`${r.lines} move lines, expected ${2 * n}`);
    if (r.posted !== n) problems.push(`${r.posted} posted moves, expected ${n}`);
  }
  return { ok: problems.length === 0, ...r, problem: problems.join("; ") || undefined };
}

/**
 * The application side of one system's run: for a writing workload, the harness's own connection to the application
 * tables (opened and the schema created by open()), the visible() probe for the drain's end and the exactly-once
 * check; for the no-op workload, nothing (visible is undefined, check returns undefined). queries() is the number of
 * statements the harness sent on that connection since open() (each its own transaction), so that the transaction
 * count of a drain can leave them out.
 */
function appSide(w, where) {
  let store = null;
  let queries = 0;
  const counted =
    (fn) =>
    async (...a) => {
      queries += 1;
      return fn(...a);
    };
  return {
    async open() {
      if (!w.job) return;
      store = await openAppStore(where);
      await createSchema(store);
      queries = 0;
    },
    visible: w.job ? counted(() => visibleRows(store)) : undefined,
    check: async (n) => {
      if (!store) return undefined;
      queries += w.statementsPerJob === 5 ? 2 : 1;
      return checkExactlyOnce(store, w, n);
    },
    queries: () => queries,
    async close() {
      await store?.close();
      store = null;
    },
  };
}

module.exports = {
  WORKLOADS,
  appSide,
  workload,
  managerDb,
  poolDb,
  graphileDb,
  openAppStore,
  createSchema,
  visibleRows,
  checkExactlyOnce,
};
