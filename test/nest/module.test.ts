import "reflect-metadata";
import { Inject, Injectable, Module, Scope, type INestApplicationContext } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { Test } from "@nestjs/testing";
import { TypeOrmModule } from "@nestjs/typeorm";
import { DataSource, type EntityManager } from "typeorm";
import {
  ConfigError,
  defineJob,
  Dispatcher,
  HrpCronJobService,
  JobAdmin,
  jobMethod,
  jobModel,
  JobQueue,
  ModelRegistry,
  runAsUser,
  Scheduler,
  ValidationError,
  type HrpCronJob,
  type JobEnv,
} from "hrp-cron";
import { HrpCronModule } from "hrp-cron/nest";
import { TestEffect } from "../fixtures/TestEffect";
import { BACKENDS, count, memoryLogger, openTestDb, type TestDb } from "../helpers";

/**
 * Issue 15 (NestJS): `hrp-cron/nest` in real Nest applications (`@nestjs/testing`
 * and `NestFactory`), on real databases: job models found among the
 * application's providers run with their injected services as the job's
 * stored user, the worker lives and dies with the application, and
 * `@nestjs/typeorm` gives the DataSource.
 */

/** An application service a job model uses: it writes through the job's transaction. */
@Injectable()
class LedgerService {
  async post(manager: EntityManager, key: string, uid: number): Promise<number> {
    await manager.insert(TestEffect, { key, uid, note: "posted by LedgerService" });
    return manager.count(TestEffect);
  }
}

@Injectable()
@jobModel("test.ledger")
class LedgerJobs {
  constructor(private readonly ledger: LedgerService) {}

  @jobMethod()
  async post(env: JobEnv, kw: { key: string }) {
    const rows = await this.ledger.post(env.manager, kw.key, env.uid);
    return { key: kw.key, by: env.uid, rows };
  }
}

/** A typed job (defineJob) registered by a provider through the injected registry. */
@Injectable()
class ReportJobs {
  readonly summarize = defineJob("test.report.summarize", async (env, kw: { label: string }) => ({
    label: kw.label,
    rows: await env.manager.count(TestEffect),
    by: env.uid,
  }));

  constructor(registry: ModelRegistry) {
    registry.define(this.summarize);
  }
}

/** Waits (bounded, never asserted on) until `read` returns something other than undefined. */
async function waitFor<T>(what: string, read: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function finished(admin: JobAdmin, job: HrpCronJob): Promise<HrpCronJob> {
  return waitFor(`job ${job.id} to finish`, async () => {
    const row = await admin.getJob(job.id);
    return row.state === "pending" || row.state === "running" ? undefined : row;
  });
}

async function addUser(db: TestDb, id: number, login: string): Promise<void> {
  await db.dataSource.query(
    `INSERT INTO res_users (id, login, name, active) VALUES (${id}, '${login}', '${login}', ${db.kind === "sqlite" ? 1 : "TRUE"})`,
  );
}

describe.each(BACKENDS)("HrpCronModule (NestJS) on %s", (kind) => {
  let db: TestDb;
  /** The application under test: closed after each test, whatever happened. */
  let app: INestApplicationContext | null;
  beforeEach(async () => {
    db = await openTestDb(kind);
    app = null;
  });
  afterEach(async () => {
    await app?.close();
    await db.close();
  });

  it("runs a job model's method with its injected service as the enqueuing user, and a typed job whose result it reads back", async () => {
    await addUser(db, 2, "alice");
    const logger = memoryLogger();
    app = await Test.createTestingModule({
      imports: [
        HrpCronModule.forRoot({ dataSource: db.dataSource, logger, worker: { pollIntervalMs: 200 }, scheduler: false }),
      ],
      providers: [LedgerService, LedgerJobs, ReportJobs],
    }).compile();
    await app.init();

    const dispatcher = app.get(Dispatcher);
    expect(dispatcher.isRunning).toBe(true);
    expect(app.get(ModelRegistry).list()).toEqual(["test.ledger.post", "test.report.summarize"]);
    const queue = app.get(JobQueue);
    const admin = app.get(JobAdmin);

    const job = await runAsUser(2, () => queue.enqueue("test.ledger.post", { kwargs: { key: "a" } }));
    const done = await finished(admin, job);
    expect([done.state, done.userId, done.excInfo]).toEqual(["done", 2, null]);
    expect(await queue.getJobResult(job)).toEqual({ key: "a", by: 2, rows: 1 });
    expect(await db.dataSource.getRepository(TestEffect).find()).toEqual([
      expect.objectContaining({ key: "a", uid: 2, note: "posted by LedgerService" }),
    ]);

    const typed = await queue.enqueue(app.get(ReportJobs).summarize, { kwargs: { label: "june" }, userId: 2 });
    await finished(admin, typed);
    const summary = await queue.getJobResult(typed); // typed: { label: string; rows: number; by: number }
    expect([summary.label, summary.rows, summary.by]).toEqual(["june", 1, 2]);

    // runByCron through the injected service, as Administrator by default.
    const service = app.get(HrpCronJobService);
    const cronJob = await service.runByCron("Post b", "test.ledger", "post", [{ key: "b" }]);
    expect((await finished(admin, cronJob)).state).toBe("done");
    expect(await count(db, "test_effect", "uid = 1")).toBe(1);

    await app.close();
    app = null;
    expect(dispatcher.isRunning).toBe(false);
    expect(await count(db, "hrp_cron_worker")).toBe(0); // unregistered: nothing left running
    expect(db.dataSource.isInitialized).toBe(true); // a DataSource the application gave is the application's to destroy
    expect(logger.lines.filter((l) => l.startsWith("error") || l.startsWith("warn"))).toEqual([]);
  });

  it("takes the DataSource from @nestjs/typeorm (forRootAsync on both), migrates it, and closes in order", async () => {
    const fresh = await openTestDb(kind, [], []); // hrp-cron's tables not created: migrate: true does it
    const logger = memoryLogger();
    try {
      @Injectable()
      class QueueSettings {
        readonly pollIntervalMs = 200;
      }
      @Module({ providers: [QueueSettings], exports: [QueueSettings] })
      class SettingsModule {}
      @Module({
        imports: [
          TypeOrmModule.forRootAsync({ useFactory: () => fresh.options }),
          HrpCronModule.forRootAsync({
            imports: [SettingsModule],
            inject: [QueueSettings],
            useFactory: (settings: QueueSettings) => ({
              worker: { pollIntervalMs: settings.pollIntervalMs },
              migrate: true,
              logger,
            }),
          }),
        ],
        providers: [LedgerService, LedgerJobs],
      })
      class AppModule {}

      const nest = await NestFactory.createApplicationContext(AppModule, { logger: false });
      app = nest;
      // Found by this file's DataSource class: @nestjs/typeorm loads the same TypeORM (on 0.3 too, through jest's mapper).
      const dataSource = nest.get(DataSource);
      expect(dataSource).toBeInstanceOf(DataSource);
      expect(dataSource).not.toBe(fresh.dataSource);
      expect(await count(fresh, "hrp_cron_job")).toBe(0); // migrated
      const scheduler = nest.get(Scheduler);
      // The worker's scheduler runs by default: its first tick takes the lease.
      expect(await waitFor("the scheduler's lease", async () => (await scheduler.status()).leaderId ?? undefined)).toBe(
        scheduler.id,
      );

      const job = await nest.get(JobQueue).enqueue("test.ledger.post", { kwargs: { key: "c" } });
      const done = await finished(nest.get(JobAdmin), job);
      expect([done.state, done.userId]).toEqual(["done", 1]);

      const dispatcher = nest.get(Dispatcher);
      await nest.close();
      app = null;
      expect(dispatcher.isRunning).toBe(false);
      expect(dataSource.isInitialized).toBe(false); // TypeOrmModule destroyed it, after the worker stopped
      expect(await count(fresh, "hrp_cron_worker")).toBe(0);
      expect((await new Scheduler(fresh.dataSource, { registry: new ModelRegistry() }).status()).leaderId).toBeNull();
      expect(logger.lines.filter((l) => l.startsWith("error") || l.startsWith("warn"))).toEqual([]);
    } finally {
      await app?.close();
      app = null;
      await fresh.close();
    }
  });

  it("takes a named @nestjs/typeorm connection (dataSourceName)", async () => {
    app = await Test.createTestingModule({
      imports: [
        // @nestjs/typeorm reads a named connection's name from the factory's options too.
        TypeOrmModule.forRootAsync({ name: "jobs", useFactory: () => ({ ...db.options, name: "jobs" }) }),
        HrpCronModule.forRoot({ dataSourceName: "jobs", worker: false, isGlobal: true }),
      ],
    }).compile();
    await app.init();
    const job = await app
      .get(JobQueue)
      .enqueue("test.ledger.post", { kwargs: { key: "d" } })
      .catch((e) => e);
    expect(job).toBeInstanceOf(Error); // no job model here: refused before anything is written
    expect(await count(db, "hrp_cron_job")).toBe(0);
    app.get(ModelRegistry).register("test.plain", { ping: () => "pong" });
    await app.get(JobQueue).enqueue("test.plain.ping");
    expect(await count(db, "hrp_cron_job")).toBe(1); // written through the named connection, to the same database
  });

  it("worker: false leaves the dispatcher stopped (runDue still runs) and the scheduler off", async () => {
    await addUser(db, 3, "bob");
    app = await Test.createTestingModule({
      imports: [HrpCronModule.forRoot({ dataSource: db.dataSource, worker: false, logger: memoryLogger() })],
      providers: [LedgerService, LedgerJobs],
    }).compile();
    await app.init();
    const dispatcher = app.get(Dispatcher);
    expect(dispatcher.isRunning).toBe(false);
    expect((await app.get(Scheduler).status()).leaderId).toBeNull();
    const job = await app.get(JobQueue).enqueue("test.ledger.post", { kwargs: { key: "e" }, userId: 3 });
    const [run] = await dispatcher.runDue();
    expect([run.outcome, run.jobId]).toEqual(["done", job.id]);
    expect(await app.get(JobQueue).getJobResult(job)).toEqual({ key: "e", by: 3, rows: 1 });
  });

  it("refuses bad options with a ConfigError that says what to do", async () => {
    expect(() => HrpCronModule.forRoot({ dataSource: db.dataSource, workr: true } as never)).toThrow(ConfigError);
    expect(() => HrpCronModule.forRoot({ dataSource: db.dataSource, workr: true } as never)).toThrow(
      /^HrpCronModule\.forRoot: unknown option "workr"; known options are now, userResolver, .*\bworkers, worker, scheduler, migrate, .*dataSourceName$/,
    );
    expect(() => HrpCronModule.forRoot({ dataSource: db.dataSource, worker: "yes" as never })).toThrow(
      /"worker" must be true, false or an options object, got "yes"/,
    );
    expect(() =>
      HrpCronModule.forRoot({
        dataSource: db.dataSource,
        worker: { userResolver: { findUser: async () => null } } as never,
      }),
    ).toThrow(/set userResolver at the top level/);
    expect(() => HrpCronModule.forRoot({ dataSource: db.dataSource, dataSourceName: "jobs" })).toThrow(
      /give dataSource or dataSourceName, not both/,
    );
    expect(() => HrpCronModule.forRoot({ dataSource: db.dataSource, registry: {} as never })).toThrow(ConfigError);
    expect(() => HrpCronModule.forRootAsync({ useFactory: "nope" } as never)).toThrow(
      /"useFactory" must be a function/,
    );

    // Found when the application is made: no DataSource, one not initialized, the factory's options, a value.
    const compile = async (imports: unknown[], providers: unknown[] = []): Promise<unknown> => {
      try {
        const made = await Test.createTestingModule({ imports, providers } as never).compile();
        await made.init(); // when it fails, close() would only throw its error again
        await made.close();
        return null;
      } catch (error) {
        return error;
      }
    };
    const none = await compile([HrpCronModule.forRoot()]);
    expect(none).toBeInstanceOf(ConfigError);
    expect((none as Error).message).toMatch(/HrpCronModule has no DataSource: give one in its options \(dataSource\)/);
    const closed = new DataSource(db.options);
    expect(await compile([HrpCronModule.forRoot({ dataSource: closed })])).toEqual(
      expect.objectContaining({ name: "ConfigError", message: expect.stringMatching(/is not initialized/) }),
    );
    const async = await compile([
      HrpCronModule.forRootAsync({ useFactory: () => ({ dataSource: db.dataSource, migrat: true }) as never }),
    ]);
    expect(async).toBeInstanceOf(ConfigError);
    expect((async as Error).message).toMatch(/^HrpCronModule.forRootAsync's useFactory: unknown option "migrat"/);
    const value = await compile([HrpCronModule.forRoot({ dataSource: db.dataSource, worker: { pollIntervalMs: -1 } })]);
    expect(value).toBeInstanceOf(ValidationError);

    @Injectable({ scope: Scope.REQUEST })
    @jobModel("test.scoped")
    class ScopedJobs {
      @jobMethod()
      run() {}
    }
    const scoped = await compile([HrpCronModule.forRoot({ dataSource: db.dataSource, worker: false })], [ScopedJobs]);
    expect(scoped).toBeInstanceOf(ConfigError);
    expect((scoped as Error).message).toMatch(/job model ScopedJobs \("test.scoped"\) is request-scoped or transient/);
    expect(await count(db, "hrp_cron_worker")).toBe(0);
  });

  it("injects hrp-cron's objects into the application's providers (class tokens, no @Inject needed)", async () => {
    @Injectable()
    class Invoices {
      constructor(
        readonly queue: JobQueue,
        readonly service: HrpCronJobService,
        readonly admin: JobAdmin,
        @Inject(Dispatcher) readonly dispatcher: Dispatcher,
      ) {}
    }
    app = await Test.createTestingModule({
      imports: [HrpCronModule.forRoot({ dataSource: db.dataSource, worker: false, isGlobal: true })],
      providers: [Invoices],
    }).compile();
    const invoices = app.get(Invoices);
    expect(invoices.queue).toBe(app.get(JobQueue));
    expect(invoices.service).toBeInstanceOf(HrpCronJobService);
    expect(invoices.admin).toBeInstanceOf(JobAdmin);
    expect(invoices.dispatcher).toBe(app.get(Dispatcher));
  });
});
