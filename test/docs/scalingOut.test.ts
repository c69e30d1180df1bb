import type { DataSource } from "typeorm";
import { backendFor, ConfigError, Dispatcher, HrpCronJobService, JobQueue, ModelRegistry } from "../../src";
import { BACKENDS } from "../helpers";
import { itRunsExample, openDocsDb, runSnippet } from "./givens";

/** The examples of docs/scaling-out.md. */
describe.each(BACKENDS)("docs/scaling-out.md on %s", (kind) => {
  itRunsExample(kind, "scaling-out/outage", async (_run, db) => {
    const [job] = await new HrpCronJobService(db.dataSource).listJobs();
    expect([job.jobKey, job.state]).toEqual(["welcome:42", "pending"]);
  });

  if (kind === "postgres") {
    it("runs the example scaling-out/pooler as documented: a transaction-mode DataSource with its own LISTEN connection", async () => {
      const db = await openDocsDb(kind);
      const saved = { url: process.env.DATABASE_URL, listen: process.env.HRP_CRON_PG_LISTEN_URL };
      const { pgUrl, pgSchema } = db.location;
      // Stand-ins for the pooler's URL and the server's: the same server, in the test's schema.
      process.env.DATABASE_URL = `${pgUrl}${pgUrl!.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c search_path=${pgSchema}`)}`;
      process.env.HRP_CRON_PG_LISTEN_URL = pgUrl;
      let dataSource: DataSource | undefined;
      try {
        dataSource = (await runSnippet("scaling-out/pooler", db.dataSource)).values.dataSource as DataSource;
        expect(() => backendFor(dataSource!, { poolMode: "session" })).toThrow(ConfigError);
        // It works: a job enqueued through it runs through it.
        const registry = new ModelRegistry().register("app", { async ping() {} });
        await new JobQueue(dataSource, { registry }).enqueue("app.ping");
        const [result] = await new Dispatcher(dataSource, registry).runDue();
        expect(result.outcome).toBe("done");
      } finally {
        for (const [key, value] of [["DATABASE_URL", saved.url], ["HRP_CRON_PG_LISTEN_URL", saved.listen]] as const) {
          if (value === undefined) delete process.env[key];
          else process.env[key] = value;
        }
        await dataSource?.destroy();
        await db.close();
      }
    });
  }
});
