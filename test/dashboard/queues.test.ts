import { Dispatcher, JobAdmin, JobQueue, ModelRegistry } from "../../src";
import { Dashboard, type DashboardAccess } from "../../src/dashboard";
import { BACKENDS, fixedClock, memoryLogger, openTestDb, type TestDb } from "../helpers";
import { DashboardClient } from "./client";

/** The queues pages over a real database: depth, latency, key limits, pause and resume through the API. */
describe.each(BACKENDS)("dashboard queues on %s", (kind) => {
  let db: TestDb;
  const clock = fixedClock("2026-12-01T08:00:00Z");
  const registry = new ModelRegistry().register("hrp.report", {
    async build() {
      return "built";
    },
  });
  beforeEach(async () => {
    db = await openTestDb(kind);
    clock.set("2026-12-01T08:00:00Z");
  });
  afterEach(() => db.close());

  const queue = () => new JobQueue(db.dataSource, { registry, now: clock.now });
  const admin = () => new JobAdmin(db.dataSource, { now: clock.now });
  const runDue = () => new Dispatcher(db.dataSource, registry, { logger: memoryLogger(), now: clock.now }).runDue();
  const client = (access: DashboardAccess = "all") =>
    new DashboardClient(
      new Dashboard({
        dataSource: db.dataSource,
        resolveUser: () => ({ login: "li.na" }),
        resolveAccess: () => access,
        now: clock.now,
      }),
    );
  /** The cells of the queue list's row of `name`, as text. */
  const row = (text: string, name: string) => {
    const tr = new RegExp(`<tr>\\s*<td><a href="/queues/${name}">[\\s\\S]*?</tr>`).exec(text);
    if (!tr) throw new Error(`no row for queue ${name}`);
    return [...tr[0].matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((m) =>
      m[1]
        .replace(/<[^>]+>/g, " ")
        .replace(/\s+/g, " ")
        .trim(),
    );
  };

  async function given() {
    await queue().enqueue("hrp.report.build", { queue: "long" });
    clock.advance(5000);
    await queue().enqueue("hrp.report.build", { queue: "long" });
    await queue().enqueue("hrp.report.build", { queue: "long", delayMs: 60_000 });
    await queue().enqueue("hrp.report.build", { concurrencyKey: "patient:7", concurrencyLimit: 2 });
    clock.advance(7000);
  }

  it("lists every queue with its depth, latency, key limits and pause state", async () => {
    await given();
    const page = await client().get("/queues");
    expect(page.status).toBe(200);
    // queue, state, due now, scheduled later, oldest waits, running, keys, paused by, actions
    expect(row(page.text, "long")).toEqual(["long", "active", "2", "1", "12.0 s", "0", "—", "—", "Pause"]);
    expect(row(page.text, "default")).toEqual([
      "default",
      "active",
      "1",
      "0",
      "7.0 s",
      "0",
      "patient:7 0 / 2 running, 1 due",
      "—",
      "Pause",
    ]);
    expect(row(page.text, "short")).toEqual(["short", "active", "0", "0", "—", "0", "—", "—", "Pause"]);
  });

  it("pauses a queue with a reason and resumes it, each recorded with the operator and shown on its page", async () => {
    await given();
    const c = client();
    await c.get("/queues");
    const refused = await c.post("/queues/long/pause", { back: "/queues" });
    expect(refused.header("location")).toBe("/queues");
    expect((await c.get("/queues")).visibleText).toContain("Invalid reason: is required to pause a queue");
    expect(await admin().queuePauses()).toEqual([]);

    expect((await c.post("/queues/long/pause", { back: "/queues", reason: "month-end close" })).status).toBe(303);
    const paused = await c.get("/queues");
    expect(paused.visibleText).toContain("Queue long is paused");
    expect(row(paused.text, "long").slice(0, 2)).toEqual(["long", "paused"]);
    expect(row(paused.text, "long")[7]).toBe("paused by li.na, 0 ms ago month-end close");
    expect(row(paused.text, "long")[8]).toBe("Resume");
    expect(paused.text).toContain('action="/queues/long/resume"');
    expect(paused.text).not.toContain('action="/queues/long/pause"');
    expect((await runDue()).length).toBe(1); // only default's job: long is paused

    // Pausing it again is the API's InvalidStateError, shown, nothing written.
    await c.post("/queues/long/pause", { back: "/queues/long", reason: "again" });
    expect((await c.get("/queues/long")).visibleText).toContain("queue long is already paused");

    clock.advance(60_000);
    expect((await c.post("/queues/long/resume", { back: "/queues/long" })).status).toBe(303);
    const one = await c.get("/queues/long");
    expect(one.visibleText).toContain("Queue long runs again");
    expect((await runDue()).length).toBe(3);
    const actions = await admin().listActions({ queue: "long" });
    expect(actions.map((a) => [a.action, a.reason])).toEqual([
      ["resume", null],
      ["pause", "month-end close"],
    ]);
    for (const a of actions)
      expect(a).toMatchObject({ actor: "li.na", source: "dashboard", ip: "10.1.2.3", userAgent: "DashboardClient/1" });
    // The queue's own page shows its history, not other queues'.
    await admin().pauseQueue("short", { by: "ops", reason: "other queue" });
    const history = (await c.get("/queues/long")).visibleText;
    expect(history).toContain("Action history");
    expect(history).toContain("month-end close");
    expect(history).not.toContain("other queue");
  });

  it("shows a read-only user no buttons, answers a forged POST with 403, and refuses a name no queue has", async () => {
    await given();
    const c = client("read-only");
    const page = await c.get("/queues");
    expect(page.text).not.toContain("data-action=");
    expect((await c.post("/queues/long/pause", { reason: "x" })).status).toBe(403);
    expect(await admin().queuePauses()).toEqual([]);
    const resumeOnly = await client({ actions: ["resumeQueue"] }).get("/queues");
    expect(resumeOnly.text).not.toContain('action="/queues/long/pause"');
    const bad = await c.get("/queues/no%20such%20queue");
    expect(bad.status).toBe(400);
    expect(bad.visibleText).toContain("queue names are 1-64 letters");
    // A queue without work yet has a page (it can be paused before its first job).
    expect((await c.get("/queues/reports")).status).toBe(200);
  });
});
