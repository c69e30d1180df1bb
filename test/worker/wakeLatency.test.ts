import pg from "pg";
import { DataSource } from "typeorm";
import { backendFor, Dispatcher, JobQueue, ModelRegistry } from "../../src";
import { BACKENDS, memoryLogger, openTestDb, type TestDb } from "../helpers";

/** The statement that looks for due bands (the claim's first step when nothing says where the work is). */
const BAND_WALK = /WITH RECURSIVE /;
/** Any claim statement (the band walk, or a band's claim). */
const CLAIM = /WITH RECURSIVE |WITH due AS/;
const JOB_STARTED = "<job started>";

type Query = (...args: unknown[]) => unknown;
const pgClient = pg.Client.prototype as unknown as { query: Query };

/**
 * Records the text of every statement hrp-cron sends on `db` from now on
 * (PostgreSQL: every client of this process; SQLite: the shared runner),
 * plus the markers the test's job methods push.
 */
function recordStatements(db: TestDb): { seen: string[]; stop(): void } {
  const seen: string[] = [];
  if (db.kind === "sqlite") {
    const runner = db.dataSource.createQueryRunner() as unknown as { query: Query };
    const inner = runner.query;
    runner.query = (...args: unknown[]) => {
      seen.push(String(args[0]));
      return inner.apply(runner, args);
    };
    return { seen, stop: () => void (runner.query = inner) };
  }
  const inner = pgClient.query;
  pgClient.query = function (this: unknown, ...args: unknown[]) {
    const config = args[0] as string | { text?: string };
    seen.push(typeof config === "string" ? config : String(config?.text));
    return inner.apply(this, args);
  };
  return { seen, stop: () => void (pgClient.query = inner) };
}

/** What was sent after the first `from` statement and before the job's first line. */
function between(seen: readonly string[], from: RegExp): string[] {
  const start = seen.findIndex((s) => from.test(s));
  const end = seen.indexOf(JOB_STARTED);
  expect(start).toBeGreaterThanOrEqual(0);
  expect(end).toBeGreaterThan(start);
  return seen.slice(start, end);
}

async function until(what: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400 && !(await what()); i++) await new Promise((r) => setTimeout(r, 25));
  expect(await what()).toBe(true);
}

describe.each(BACKENDS)("the path of a job enqueued to an idle worker, on %s", (kind) => {
  let db: TestDb;
  let started: number[];
  let recording: { seen: string[]; stop(): void } | null;
  let registry: ModelRegistry;
  let holding: Promise<void> = Promise.resolve();
  const logger = memoryLogger();

  /**
   * Runs `scenario` again (at most 5 times) when it failed while a NOTIFY
   * from another DataSource woke this one's workers: on the shared test
   * server other tests' workers (other schemas of the same database) share
   * the channel. SQLite: once.
   */
  async function withoutCrossTalk(scenario: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      started = [];
      recording?.stop();
      recording = null;
      const foreign: unknown[] = [];
      const unlisten =
        kind === "postgres" ? await backendFor(db.dataSource).listen((bands) => foreign.push(bands), logger) : null;
      try {
        await scenario();
        return;
      } catch (error) {
        if (foreign.length === 0 || attempt >= 5) throw error;
      } finally {
        await unlisten?.();
      }
    }
  }

  beforeEach(async () => {
    db = await openTestDb(kind);
    started = [];
    recording = null;
    registry = new ModelRegistry().register("lat", {
      mark(_env: unknown, i: number) {
        recording?.seen.push(JOB_STARTED);
        started.push(i);
      },
      async hold() {
        recording?.seen.push("<A started>");
        started.push(0);
        await holding;
      },
    });
  });
  afterEach(async () => {
    recording?.stop();
    await db.close();
  });

  /** A started dispatcher whose first claim (it found nothing) is over. */
  async function idleDispatcher(options: { queues?: string[] } = {}): Promise<Dispatcher> {
    const dispatcher = new Dispatcher(db.dataSource, registry, { pollIntervalMs: 60_000, logger, ...options });
    const probe = recordStatements(db);
    await dispatcher.start();
    try {
      await until(() => probe.seen.filter((s) => CLAIM.test(s)).length > 0 && probe.seen.at(-1) === "COMMIT");
    } finally {
      probe.stop();
    }
    return dispatcher;
  }

  it("claims the band the enqueue named, without first looking for due bands", async () => {
    await withoutCrossTalk(async () => {
      const dispatcher = await idleDispatcher();
      const jobs = new JobQueue(db.dataSource, { registry });
      try {
        recording = recordStatements(db);
        await jobs.enqueue("lat.mark", { args: [1] });
        await until(() => started.length === 1);
        const path = between(recording.seen, CLAIM);
        expect(path.filter((s) => BAND_WALK.test(s))).toEqual([]);
        expect(path.filter((s) => /WITH due AS/.test(s))).toHaveLength(1);
      } finally {
        await dispatcher.stop();
      }
    });
  });

  it("a job of a queue a worker does not serve does not wake it; one of its own queues does", async () => {
    await withoutCrossTalk(async () => {
      const dispatcher = await idleDispatcher({ queues: ["long"] });
      const jobs = new JobQueue(db.dataSource, { registry });
      try {
        recording = recordStatements(db);
        await jobs.enqueue("lat.mark", { args: [1], queue: "default" });
        await new Promise((r) => setTimeout(r, 300)); // a woken worker would have claimed by now
        await jobs.enqueue("lat.mark", { args: [2], queue: "long" });
        await until(() => started.length === 1);
        expect(started).toEqual([2]);
        // One claim in all (the long job's): the default job caused none.
        expect(recording.seen.slice(0, recording.seen.indexOf(JOB_STARTED)).filter((s) => CLAIM.test(s))).toHaveLength(
          1,
        );
      } finally {
        await dispatcher.stop();
      }
    });
  });

  // On SQLite an enqueue made while a batch runs commits only after it (one transaction at a time), racing the
  // claim that follows the batch: that claim may look everywhere first and find it so.
  (kind === "postgres" ? it : it.skip)(
    "work named while a batch runs is claimed by its band when the batch ends quietly, without looking for due bands",
    async () => {
      await withoutCrossTalk(async () => {
        const dispatcher = await idleDispatcher();
        const jobs = new JobQueue(db.dataSource, { registry });
        let release!: () => void;
        holding = new Promise<void>((resolve) => (release = resolve));
        try {
          // A few quick jobs first: claims then ask for more than one job (the claim sizing), so a lone job drains its band.
          for (let i = 1; i <= 5; i++) {
            await jobs.enqueue("lat.mark", { args: [i] });
            await until(() => started.length === i);
          }
          recording = recordStatements(db);
          await jobs.enqueue("lat.hold");
          await until(() => started.includes(0));
          // Enqueued while the batch runs.
          await jobs.enqueue("lat.mark", { args: [99] });
          release();
          await until(() => started.includes(99));
          const path = between(recording.seen, /^<A started>$/);
          expect(path.filter((s) => /WITH due AS/.test(s))).toHaveLength(1);
          expect(path.filter((s) => BAND_WALK.test(s))).toEqual([]);
        } finally {
          release();
          await dispatcher.stop();
        }
      });
    },
  );

  it("when the batch ends with nothing new named, the next claim looks everywhere", async () => {
    const dispatcher = await idleDispatcher();
    const jobs = new JobQueue(db.dataSource, { registry });
    try {
      recording = recordStatements(db);
      await jobs.enqueue("lat.mark", { args: [1] });
      // The job's batch ended: its freed slot woke the loop, whose claim looked for due bands.
      await until(() => {
        const at = recording!.seen.indexOf(JOB_STARTED);
        return at >= 0 && recording!.seen.slice(at).some((s) => BAND_WALK.test(s));
      });
      expect(started).toEqual([1]);
    } finally {
      await dispatcher.stop();
    }
  });

  (kind === "postgres" ? it : it.skip)(
    "a job enqueued through another DataSource (NOTIFY) is claimed by its named band; other queues' workers stay asleep",
    async () => {
      await withoutCrossTalk(async () => {
        const other = new DataSource(db.options);
        await other.initialize();
        const longOnly = await idleDispatcher({ queues: ["long"] });
        const jobs = new JobQueue(other, { registry });
        try {
          recording = recordStatements(db);
          await jobs.enqueue("lat.mark", { args: [1], queue: "default" });
          await new Promise((r) => setTimeout(r, 300));
          await jobs.enqueue("lat.mark", { args: [2], queue: "long" });
          await until(() => started.length === 1);
          expect(started).toEqual([2]);
          const claims = recording.seen.slice(0, recording.seen.indexOf(JOB_STARTED)).filter((s) => CLAIM.test(s));
          expect(claims).toHaveLength(1);
          expect(claims.filter((s) => BAND_WALK.test(s))).toEqual([]);
        } finally {
          await longOnly.stop();
          await other.destroy();
        }
      });
    },
  );

  (kind === "postgres" ? it : it.skip)(
    "a DataSource does not hear its own named NOTIFY again (its in-process wake-up told its workers); others' it hears",
    async () => {
      const other = new DataSource(db.options);
      await other.initialize();
      const heard: Array<ReadonlyArray<{ priority: number }> | null> = [];
      const unlisten = await backendFor(db.dataSource).listen((bands) => heard.push(bands), logger);
      try {
        // A priority no other test uses: other tests' workers on this database share the channel.
        const priority = 500 + (process.pid % 400);
        await new JobQueue(db.dataSource, { registry }).enqueue("lat.mark", { args: [1], queue: "short", priority });
        await new JobQueue(other, { registry }).enqueue("lat.mark", { args: [2], queue: "long", priority });
        // Notifications arrive in commit order: once the second is heard, the first would have been.
        const ours = () =>
          heard.filter((bands) => Array.isArray(bands) && bands.some((band) => band.priority === priority));
        await until(() => ours().length > 0);
        expect(ours()).toEqual([[{ queue: "long", priority, keyed: false, users: [1] }]]);
      } finally {
        await unlisten();
        await other.destroy();
      }
    },
  );

  (kind === "postgres" ? it : it.skip)(
    "the claim of named work is one statement that commits on its own; the batch begins and looks its user up meanwhile; the job starts after the claim",
    async () => {
      const dispatcher = await idleDispatcher();
      const jobs = new JobQueue(db.dataSource, { registry });
      // Every statement sent, with its connection; the claim is held back until the batch has sent its BEGIN and its
      // user lookup (at most 3 s), which must not wait for the claim.
      const sent: Array<{ text: string; conn: object }> = [];
      let claimReturned = false;
      let batchReadyBeforeClaim: boolean | null = null;
      const claim: { conn: object | null } = { conn: null };
      const inner = pgClient.query;
      pgClient.query = function (this: object, ...args: unknown[]) {
        const config = args[0] as string | { text?: string };
        const text = typeof config === "string" ? config : String(config?.text);
        sent.push({ text, conn: this });
        if (claim.conn === null && /UPDATE hrp_cron_job SET state = 'running'/.test(text)) {
          claim.conn = this;
          const ready = () =>
            sent.some((s) => s.conn !== this && /^START TRANSACTION; SELECT txid_current/.test(s.text)) &&
            sent.some((s) => s.conn !== this && /FROM res_users/.test(s.text));
          return (async () => {
            for (let i = 0; i < 300 && !ready(); i++) await new Promise((r) => setTimeout(r, 10));
            batchReadyBeforeClaim = ready();
            const result = await inner.apply(this, args);
            claimReturned = true;
            return result;
          })();
        }
        return inner.apply(this, args);
      };
      let claimedWhenStarted: boolean | null = null;
      let stateSeenByOthers: string | null = null;
      registry.register("lat", {
        async check() {
          claimedWhenStarted = claimReturned;
          const [row] = await db.dataSource.query(`SELECT state FROM hrp_cron_job WHERE model = 'lat'`);
          stateSeenByOthers = row.state;
          started.push(0);
        },
      });
      try {
        await jobs.enqueue("lat.check");
        await until(() => started.length === 1);
      } finally {
        pgClient.query = inner;
        await dispatcher.stop();
      }
      expect(batchReadyBeforeClaim).toBe(true);
      expect(claimedWhenStarted).toBe(true);
      // Committed on its own: seen by another connection as running while the job runs, with no BEGIN or COMMIT
      // around it on its connection.
      expect(stateSeenByOthers).toBe("running");
      const onClaimConn = sent.filter((s) => s.conn === claim.conn).map((s) => s.text);
      const at = onClaimConn.findIndex((t) => /UPDATE hrp_cron_job SET state = 'running'/.test(t));
      expect(onClaimConn[at - 1] ?? "").not.toMatch(/^START TRANSACTION/);
      expect(onClaimConn.slice(at + 1).filter((t) => t === "COMMIT")).toEqual([]);
    },
  );
});
