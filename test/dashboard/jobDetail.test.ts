import { Dispatcher, JobAdmin, JobQueue, ModelRegistry, type HrpCronJob, type JobEnv } from "../../src";
import { Dashboard, type DashboardAccess } from "../../src/dashboard";
import { escapeHtml } from "../../src/dashboard/html";
import { BACKENDS, fixedClock, memoryLogger, openTestDb, type TestDb } from "../helpers";
import { DashboardClient } from "./client";

/** The job detail over a real database: what it shows (redacted), and retry, cancel, stop and run now through the API. */
describe.each(BACKENDS)("dashboard job detail on %s", (kind) => {
  let db: TestDb;
  const clock = fixedClock("2026-12-01T08:00:00Z");
  let release: () => void = () => undefined;
  const registry = new ModelRegistry().register("hrp.asset", {
    async receive(env: JobEnv, kw: { patient_id: number }) {
      env.progress(3, 4, "posting ledger lines");
      throw new Error(`ledger LOCKED for patient ${kw.patient_id}`);
    },
    async post() {
      return { posted: 2, token: "s3cr3t-result-token" };
    },
    async wait(env: JobEnv) {
      await new Promise<void>((resolve) => {
        release = resolve;
        env.signal.addEventListener("abort", () => resolve());
      });
    },
  });
  beforeEach(async () => {
    db = await openTestDb(kind);
    clock.set("2026-12-01T08:00:00Z");
  });
  afterEach(async () => {
    release();
    await db.close();
  });

  const queue = () => new JobQueue(db.dataSource, { registry, now: clock.now });
  const admin = () => new JobAdmin(db.dataSource, { now: clock.now });
  const runDue = () => new Dispatcher(db.dataSource, registry, { logger: memoryLogger(), now: clock.now }).runDue();
  const client = (access: DashboardAccess = "all", redactArgs?: (v: unknown, job: HrpCronJob) => unknown) =>
    new DashboardClient(
      new Dashboard({
        dataSource: db.dataSource,
        resolveUser: () => ({ login: "li.na" }),
        resolveAccess: () => access,
        now: clock.now,
        ...(redactArgs ? { redactArgs } : {}),
      }),
    );
  /** The one-time message the last redirect left for the next page (the flash cookie). */
  const flashOf = (c: DashboardClient) =>
    String(JSON.parse(Buffer.from(c.cookies.get("hrp_cron_flash") ?? "e30", "base64url").toString("utf8")).t);
  const PATIENT = {
    patient_id: 7,
    password: "hunter2",
    id_card: "110101199003071234",
    patient: { name: "Li Hua", phone: "13800138000", contacts: [{ patientIdCard: "220101198001011111" }] },
  };

  /** A job that failed twice (one retry), with its progress and two runs. */
  async function failedTwice(): Promise<HrpCronJob> {
    const job = (await queue().enqueue("hrp.asset.receive", {
      kwargs: PATIENT,
      maxRetries: 1,
      retryBackoffMs: [1000],
    })) as HrpCronJob;
    await runDue();
    clock.advance(1000);
    await runDue();
    return admin().getJob(job.id);
  }

  it("shows a failed job's last error with its whole stack and every run with its own", async () => {
    const job = await failedTwice();
    expect(job.state).toBe("failed");
    expect(job.excInfo).toMatch(/ledger LOCKED for patient 7\n\s+at /);
    const page = await client().get(`/jobs/${job.id}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain(`<pre class="stack" id="job-error">${escapeHtml(job.excInfo!)}</pre>`);
    const runs = (await admin().listRuns({ jobId: job.id })).filter((r) => r.state === "failed");
    expect(runs).toHaveLength(2);
    for (const run of runs) expect(page.text).toContain(escapeHtml(run.error!));
    const runsTable = /<table id="job-runs"[\s\S]*?<\/table>/.exec(page.text)![0];
    expect(runsTable.match(/<pre class="stack">/g)).toHaveLength(2);
    const text = page.visibleText;
    expect(text).toContain("Job " + job.id);
    expect(text).toContain("hrp.asset.receive");
    expect(text).toContain("Tries 2 of 2");
    expect(text).toContain("admin (id 1)");
    expect(text).toContain("3 / 4 (75%) posting ledger lines");
    expect(text).toContain("This is the progress of a run that rolled back.");
    expect(text).toContain("Runs (2)");
    const zh = (await client().get(`/jobs/${job.id}?lang=zh-CN`)).visibleText;
    expect(zh).toContain("最近错误");
    expect(zh).toContain("运行记录（2）");
    // A failed job may be retried or cancelled, not stopped or run now.
    expect(page.text).toContain(`action="/jobs/${job.id}/retry"`);
    expect(page.text).toContain(`action="/jobs/${job.id}/cancel"`);
    expect(page.text).not.toContain(`action="/jobs/${job.id}/stop"`);
    expect(page.text).not.toContain(`action="/jobs/${job.id}/run"`);
  });

  it("masks password, id card and nested phone numbers by default; a redactArgs hook replaces the default", async () => {
    const job = await failedTwice();
    const done = (await queue().enqueue("hrp.asset.post")) as HrpCronJob;
    await runDue();
    const page = await client().get(`/jobs/${job.id}`);
    for (const secret of ["hunter2", "110101199003071234", "13800138000", "220101198001011111"])
      expect(page.text).not.toContain(secret);
    expect(page.text).toContain("Li Hua");
    expect(page.text).toContain("&quot;patient_id&quot;: 7");
    expect(page.text).toContain("&quot;password&quot;: &quot;••••&quot;");
    expect(page.text).toContain("&quot;patientIdCard&quot;: &quot;••••&quot;");
    const result = await client().get(`/jobs/${done.id}`);
    expect(result.visibleText).toContain('"posted": 2');
    expect(result.text).not.toContain("s3cr3t-result-token"); // the result is redacted too

    const seen: number[] = [];
    const custom = await client("all", (value, j) => {
      seen.push(j.id);
      return Array.isArray(value) ? ["hidden by the hospital's rule"] : value;
    }).get(`/jobs/${job.id}`);
    expect(custom.visibleText).toContain("hidden by the hospital's rule");
    expect(custom.text).not.toContain("Li Hua");
    expect(seen).toEqual([job.id]);
  });

  it("retries and cancels through the API, recording login, address, user agent and reason", async () => {
    const job = await failedTwice();
    const c = client();
    await c.get(`/jobs/${job.id}`);
    const retried = await c.post(`/jobs/${job.id}/retry`, { back: `/jobs/${job.id}`, reason: "ledger unlocked" });
    expect(retried.status).toBe(303);
    expect(retried.header("location")).toBe(`/jobs/${job.id}`);
    const after = await c.get(`/jobs/${job.id}`);
    expect(after.visibleText).toContain(`Job ${job.id} is pending again`);
    expect((await admin().getJob(job.id)).state).toBe("pending");
    expect(after.text).toContain(`action="/jobs/${job.id}/cancel"`);
    expect(after.text).not.toContain(`action="/jobs/${job.id}/retry"`);

    expect(
      (await c.post(`/jobs/${job.id}/cancel`, { back: `/jobs/${job.id}`, reason: "duplicate of 41" })).status,
    ).toBe(303);
    expect((await admin().getJob(job.id)).state).toBe("cancelled");
    const rows = await admin().listActions({ jobId: job.id });
    expect(rows.map((r) => [r.action, r.reason])).toEqual([
      ["cancel", "duplicate of 41"],
      ["retry", "ledger unlocked"],
    ]);
    for (const row of rows)
      expect(row).toMatchObject({
        actor: "li.na",
        source: "dashboard",
        ip: "10.1.2.3",
        userAgent: "DashboardClient/1",
      });
    // The job's page shows its own history.
    const history = (await c.get(`/jobs/${job.id}`)).visibleText;
    expect(history).toContain("duplicate of 41");
    expect(history).toContain("ledger unlocked");
  });

  it("refuses a cancel without a reason with a named error, changing nothing", async () => {
    const job = await failedTwice();
    const c = client();
    await c.get(`/jobs/${job.id}`);
    const refused = await c.post(`/jobs/${job.id}/cancel`, { back: `/jobs/${job.id}`, reason: "  " });
    expect(refused.status).toBe(303);
    const page = await c.get(`/jobs/${job.id}`);
    expect(page.visibleText).toContain("Invalid reason: is required to cancel a job");
    expect((await admin().getJob(job.id)).state).toBe("failed");
    expect(await admin().listActions()).toEqual([]);
  });

  it("runs a delayed job now: due now, recorded as run_now, and a worker then runs it", async () => {
    const job = (await queue().enqueue("hrp.asset.post", { delayMs: 3_600_000 })) as HrpCronJob;
    const c = client();
    const page = await c.get(`/jobs/${job.id}`);
    expect(page.visibleText).toContain("Due 2026-");
    expect(page.text).toContain(`action="/jobs/${job.id}/run"`);
    expect(page.text).toContain(`action="/jobs/${job.id}/cancel"`);
    expect(await runDue()).toEqual([]);
    expect((await c.post(`/jobs/${job.id}/run`, { back: `/jobs/${job.id}` })).status).toBe(303);
    expect((await c.get(`/jobs/${job.id}`)).visibleText).toContain(`Job ${job.id} is due now`);
    expect((await admin().getJob(job.id)).nextcall).toEqual(clock.now());
    expect(await admin().listActions({ jobId: job.id })).toMatchObject([
      { action: "run_now", actor: "li.na", ip: "10.1.2.3", userAgent: "DashboardClient/1" },
    ]);
    expect((await runDue()).map((r) => r.outcome)).toEqual(["done"]);
    // Now done: no action applies.
    const done = await c.get(`/jobs/${job.id}`);
    expect(done.text).not.toMatch(new RegExp(`action="/jobs/${job.id}/`));
  });

  it("stops a running job (reason required), recorded with the operator", async () => {
    clock.set(new Date()); // the worker runs on the real clock
    const job = (await queue().enqueue("hrp.asset.wait")) as HrpCronJob;
    const dispatcher = new Dispatcher(db.dataSource, registry, {
      logger: memoryLogger(),
      heartbeatIntervalMs: 30,
      pollIntervalMs: 20,
    });
    await dispatcher.start();
    const c = client();
    try {
      for (let i = 0; i < 300 && (await admin().getJob(job.id)).state !== "running"; i++)
        await new Promise((r) => setTimeout(r, 10));
      // On SQLite a page waits for the job's transaction in this process (one writer): look at it on PostgreSQL only.
      if (kind === "postgres") {
        const page = await c.get(`/jobs/${job.id}`);
        expect(page.visibleText).toContain("running now");
        expect(page.text).toContain(`action="/jobs/${job.id}/stop"`);
        expect(page.text).not.toContain(`action="/jobs/${job.id}/cancel"`);
      } else await c.get("/nothing"); // a 404 page, which reads nothing: sets the CSRF cookie
      expect((await c.post(`/jobs/${job.id}/stop`, { back: `/jobs/${job.id}` })).status).toBe(303);
      expect(flashOf(c)).toContain("Invalid reason: is required to stop a job");
      expect(await admin().listActions()).toEqual([]);
      expect((await c.post(`/jobs/${job.id}/stop`, { back: `/jobs/${job.id}`, reason: "wrong patient" })).status).toBe(
        303,
      );
      for (let i = 0; i < 300 && (await admin().getJob(job.id)).state === "running"; i++)
        await new Promise((r) => setTimeout(r, 10));
    } finally {
      await dispatcher.stop();
    }
    expect((await admin().getJob(job.id)).state).toBe("stopped");
    expect(flashOf(c)).toContain(`Stop requested for job ${job.id}`);
    expect(await admin().listActions()).toMatchObject([
      {
        action: "stop",
        targetId: job.id,
        actor: "li.na",
        reason: "wrong patient",
        ip: "10.1.2.3",
        userAgent: "DashboardClient/1",
      },
    ]);
  });

  it("answers 404 for an unknown job and 400 for an id that is not one", async () => {
    const c = client();
    const missing = await c.get("/jobs/424242");
    expect(missing.status).toBe(404);
    expect(missing.visibleText).toContain("hrp_cron_job 424242 does not exist");
    expect((await c.get("/jobs/abc")).status).toBe(400);
  });

  it("shows a read-only user no buttons and answers a forged POST with 403, changing nothing", async () => {
    const job = await failedTwice();
    const c = client("read-only");
    const page = await c.get(`/jobs/${job.id}`);
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('<form method="post"');
    expect(page.text).not.toContain("data-action=");
    for (const verb of ["retry", "cancel", "stop", "run"])
      expect((await c.post(`/jobs/${job.id}/${verb}`, { back: `/jobs/${job.id}`, reason: "x" })).status).toBe(403);
    expect((await admin().getJob(job.id)).state).toBe("failed");
    expect(await admin().listActions()).toEqual([]);
    // Only the actions granted: retry without cancel.
    const some = await client({ actions: ["retry"] }).get(`/jobs/${job.id}`);
    expect(some.text).toContain(`action="/jobs/${job.id}/retry"`);
    expect(some.text).not.toContain(`action="/jobs/${job.id}/cancel"`);
  });
});
