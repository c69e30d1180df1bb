import { Dispatcher, JobAdmin, JobQueue, ModelRegistry, type JobEnv } from "../../src";
import { Dashboard } from "../../src/dashboard";
import { BACKENDS, memoryLogger, openTestDb, type TestDb } from "../helpers";
import { DashboardClient } from "./client";

/** The job list over a real database: filters from the URL, keyset pages, bulk retry with a preview and CSRF. */
describe.each(BACKENDS)("dashboard job list on %s", (kind) => {
  let db: TestDb;
  const registry = new ModelRegistry().register("hrp.asset", {
    async receive(_env: JobEnv, kw: { patient_id: number }) {
      if (kw.patient_id % 3 === 0) throw new Error(`ledger LOCKED for patient ${kw.patient_id}`);
    },
  });
  beforeEach(async () => {
    db = await openTestDb(kind);
  });
  afterEach(() => db.close());

  async function given(n = 9) {
    const queue = new JobQueue(db.dataSource, { registry });
    for (let p = 1; p <= n; p++) await queue.enqueue("hrp.asset.receive", { kwargs: { patient_id: p } });
    await new Dispatcher(db.dataSource, registry, { logger: memoryLogger() }).runDue();
  }

  const dashboard = (access: "all" | "read-only" = "all") =>
    new Dashboard({
      dataSource: db.dataSource,
      resolveUser: () => ({ login: "li.na" }),
      resolveAccess: () => access,
      pageSize: 4,
    });

  it("is closed without a resolver: every page answers 403 and says how to open it", async () => {
    await given(1);
    const page = await new DashboardClient(new Dashboard({ dataSource: db.dataSource })).get("/jobs");
    expect(page.status).toBe(403);
    expect(page.visibleText).toContain("resolveUser");
    expect(page.text).not.toContain("hrp.asset.receive");
  });

  it("lists jobs newest first, filters by state and argument from the URL, and pages by keyset", async () => {
    await given();
    const client = new DashboardClient(dashboard());
    const first = await client.get("/jobs");
    expect(first.status).toBe(200);
    expect(first.header("content-security-policy")).toMatch(/script-src 'nonce-[^']+'/);
    const ids = (p: string) => [...p.matchAll(/href="\/jobs\/(\d+)"/g)].map((m) => Number(m[1]));
    expect(ids(first.text)).toEqual([9, 8, 7, 6]);
    const next = /href="(\/jobs\?before=\d+)"/.exec(first.text)![1];
    expect(ids((await client.get(next)).text)).toEqual([5, 4, 3, 2]);
    const failed = await client.get("/jobs?state=failed");
    expect(ids(failed.text)).toEqual([9, 6, 3]);
    expect(failed.visibleText).toContain("ledger LOCKED for patient 9");
    expect(ids((await client.get("/jobs?q=args.patient_id%3A6")).text)).toEqual([6]);
    expect(ids((await client.get("/jobs?q=locked+args.patient_id%3A3")).text)).toEqual([3]);
    // A user by login (through the userResolver) or by id.
    expect(ids((await client.get("/jobs?state=failed&user=admin")).text)).toEqual([9, 6, 3]);
    expect(ids((await client.get("/jobs?state=failed&q=user%3A1")).text)).toEqual([9, 6, 3]);
  });

  it("shows a bad filter as a named error, not a stack", async () => {
    const client = new DashboardClient(dashboard());
    const page = await client.get("/jobs?since=yesterday");
    expect(page.status).toBe(400);
    expect(page.visibleText).toContain("Invalid since: must be a date and time like 2026-12-01T08:30");
    expect(page.text).not.toMatch(/at .*\.ts:\d+/); // no stack
    const nobody = await client.get("/jobs?user=nobody");
    expect(nobody.status).toBe(400);
    expect(nobody.visibleText).toContain("Invalid user: no user has this login");
  });

  it("retries every failed job matching a filter after a preview, recording the reason, the login, address and agent", async () => {
    await given();
    const client = new DashboardClient(dashboard());
    await client.get("/jobs?state=failed");
    const preview = await client.post("/jobs/bulk", {
      do: "retry:filter",
      state: "failed",
      back: "/jobs?state=failed",
    });
    expect(preview.status).toBe(200);
    expect(preview.visibleText).toContain("3 jobs match this filter and can be retried");
    const admin = new JobAdmin(db.dataSource);
    expect((await admin.listJobs({ state: "failed" })).length).toBe(3); // a preview changes nothing
    const done = await client.post("/jobs/bulk", {
      do: "retry:filter",
      state: "failed",
      back: "/jobs?state=failed",
      confirmed: "1",
      reason: "ledger unlocked",
    });
    expect(done.status).toBe(303);
    expect(done.header("location")).toBe("/jobs?state=failed");
    expect((await client.get("/jobs?state=failed")).visibleText).toContain("3 jobs are pending again");
    expect((await admin.listJobs({ state: "pending" })).map((j) => j.id)).toEqual([9, 6, 3]);
    const [action] = await admin.listActions();
    expect(action).toMatchObject({
      action: "bulk_retry",
      actor: "li.na",
      source: "dashboard",
      ip: "10.1.2.3",
      userAgent: "DashboardClient/1",
      reason: "ledger unlocked",
      affected: 3,
    });
  });

  it("refuses a POST without the CSRF token, from another site, or from a read-only user, changing nothing", async () => {
    await given();
    const admin = new JobAdmin(db.dataSource);
    const client = new DashboardClient(dashboard());
    await client.get("/jobs");
    const fields = { do: "retry:filter", state: "failed", confirmed: "1" };
    expect((await client.post("/jobs/bulk", { ...fields, _csrf: "forged" })).status).toBe(403);
    const crossSite = await client.post("/jobs/bulk", fields, {
      origin: "https://evil.example",
      "sec-fetch-site": "cross-site",
    });
    expect(crossSite.status).toBe(403);
    expect(crossSite.visibleText).toContain("cross-site");
    const readOnly = new DashboardClient(dashboard("read-only"));
    const page = await readOnly.get("/jobs?state=failed");
    expect(page.text).not.toContain('name="do"');
    expect((await readOnly.post("/jobs/bulk", fields)).status).toBe(403);
    expect((await admin.listJobs({ state: "failed" })).length).toBe(3);
    expect(await admin.listActions()).toEqual([]);
  });
});
