import { Dispatcher, JobAdmin, JobQueue, ModelRegistry, type HrpCronJob } from "../../src";
import { Dashboard, isSecretKey, redactSecrets } from "../../src/dashboard";
import { shortAgent } from "../../src/dashboard/view/actionTable";
import { BACKENDS, fixedClock, memoryLogger, openTestDb, type TestDb } from "../helpers";
import { DashboardClient } from "./client";

/** The action log page over a real database: every operator action, filtered from the URL, paged by keyset. */
describe.each(BACKENDS)("dashboard action log on %s", (kind) => {
  let db: TestDb;
  const clock = fixedClock("2026-12-01T08:00:00Z");
  const registry = new ModelRegistry().register("hrp.asset", {
    async receive() {
      throw new Error("ledger locked");
    },
  });
  beforeEach(async () => {
    db = await openTestDb(kind);
    clock.set("2026-12-01T08:00:00Z");
  });
  afterEach(() => db.close());

  const admin = () => new JobAdmin(db.dataSource, { now: clock.now });
  const client = (pageSize = 50) =>
    new DashboardClient(
      new Dashboard({
        dataSource: db.dataSource,
        resolveUser: () => ({ login: "li.na" }),
        resolveAccess: () => "all",
        now: clock.now,
        timeZone: "Asia/Shanghai",
        pageSize,
      }),
    );
  /** Each row of the log's table: its cells as text. */
  const rows = (text: string) =>
    [...(/<table class="grid action-log">[\s\S]*?<\/table>/.exec(text)?.[0] ?? "").matchAll(/<tr>([\s\S]*?)<\/tr>/g)]
      .slice(1)
      .map((tr) =>
        [...tr[1].matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((m) =>
          m[1]
            .replace(/<[^>]+>/g, "")
            .replace(/\s+/g, " ")
            .trim(),
        ),
      );

  /** Three failed jobs; then, a minute apart: a dashboard retry and cancel, a CLI bulk retry, a pause. */
  async function given(): Promise<HrpCronJob[]> {
    const queue = new JobQueue(db.dataSource, { registry, now: clock.now });
    const jobs: HrpCronJob[] = [];
    for (let i = 0; i < 3; i++) jobs.push((await queue.enqueue("hrp.asset.receive")) as HrpCronJob);
    await new Dispatcher(db.dataSource, registry, { logger: memoryLogger(), now: clock.now }).runDue();
    const c = client();
    await c.get("/actions");
    const firefox = { "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0" };
    clock.advance(60_000);
    await c.post(`/jobs/${jobs[0].id}/retry`, { back: "/actions", reason: "bank is back" }, firefox);
    clock.advance(60_000);
    await c.post(`/jobs/${jobs[0].id}/cancel`, { back: "/actions", reason: "duplicate" });
    clock.advance(60_000);
    await admin().retryJobs({ ids: [jobs[1].id, jobs[2].id] }, {}, { by: "wang.wei", source: "cli", reason: "batch" });
    clock.advance(60_000);
    await c.post("/queues/long/pause", { back: "/actions", reason: "month-end" });
    return jobs;
  }

  it("lists every action newest first with when, who, source, address, agent, target, count, reason and outcome", async () => {
    const jobs = await given();
    const page = await client().get("/actions");
    expect(page.status).toBe(200);
    const [pause, bulk, cancel, retry] = rows(page.text);
    expect(rows(page.text)).toHaveLength(4);
    expect(pause).toEqual([
      "2026-12-01 16:04:00", // 08:04 UTC in Asia/Shanghai
      "li.na",
      "dashboard",
      "10.1.2.3",
      "DashboardClient/1",
      "pause",
      "queue long",
      "1",
      "month-end",
      "queue long is paused",
    ]);
    expect(bulk.slice(1, 9)).toEqual([
      "wang.wei",
      "CLI",
      "—",
      "—",
      "bulk retry",
      `2 jobs: ${jobs[1].id}, ${jobs[2].id}`,
      "2",
      "batch",
    ]);
    expect(cancel.slice(5, 9)).toEqual(["cancel", `job ${jobs[0].id}`, "1", "duplicate"]);
    expect(retry[4]).toBe("Firefox 128");
    const zh = rows((await client().get("/actions?lang=zh-CN")).text);
    expect(zh[0].slice(2, 7)).toEqual(["控制台", "10.1.2.3", "DashboardClient/1", "暂停", "队列 long"]);
    expect(page.text).toContain(`href="/jobs/${jobs[0].id}"`);
    expect(page.text).toContain('href="/queues/long"');
    expect(page.text).toContain(`href="/jobs/${jobs[2].id}"`);
  });

  it("filters by login, action, target and time from the URL, and pages by keyset", async () => {
    const jobs = await given();
    const c = client();
    const actions = async (query: string) => rows((await c.get(`/actions?${query}`)).text).map((r) => r[5]);
    expect(await actions("by=li.na")).toEqual(["pause", "cancel", "retry"]);
    expect(await actions("action=bulk_retry")).toEqual(["bulk retry"]);
    expect(await actions(`target=job%3A${jobs[0].id}`)).toEqual(["cancel", "retry"]);
    expect(await actions(`target=job%3A${jobs[2].id}`)).toEqual(["bulk retry"]); // in a bulk action
    expect(await actions("target=queue%3Along")).toEqual(["pause"]);
    expect(await actions("target=job")).toEqual(["cancel", "retry"]);
    // Local times in the dashboard's zone (Asia/Shanghai): 16:02 is 08:02 UTC.
    expect(await actions("since=2026-12-01T16%3A02&until=2026-12-01T16%3A04")).toEqual(["bulk retry", "cancel"]);
    const first = await client(3).get("/actions");
    expect(rows(first.text).map((r) => r[5])).toEqual(["pause", "bulk retry", "cancel"]);
    const next = /href="(\/actions\?before=\d+)"/.exec(first.text)![1];
    const second = await client(3).get(next);
    expect(rows(second.text).map((r) => r[5])).toEqual(["retry"]);
    expect(second.text).not.toContain('rel="next"');
  });

  it("shows a filter it cannot read as a named error", async () => {
    const c = client();
    const bad = await c.get("/actions?target=patient%3A7");
    expect(bad.status).toBe(400);
    expect(bad.visibleText).toContain("Invalid target: must be job:ID");
    expect((await c.get("/actions?since=yesterday")).visibleText).toContain("Invalid since");
    expect((await c.get("/actions?target=job%3Aabc")).status).toBe(400);
  });
});

describe("redactSecrets", () => {
  it("masks secret-looking keys at any depth, in arrays too, and nothing else", () => {
    const input = {
      password: "p",
      API_KEY: "k",
      headers: { Authorization: "Bearer x", "X-Auth-Token": "t", Cookie: "c" },
      patient: { name: "Li", phone: "138", mobilePhone: "139", id_card: "110", contacts: [{ patientIdCard: "220" }] },
      ssn: "1",
      user_pwd: "2",
      idNumber: "3",
      classNames: ["a"],
      lessons: 3,
      secret: null,
    };
    expect(redactSecrets(input)).toEqual({
      password: "••••",
      API_KEY: "••••",
      headers: { Authorization: "••••", "X-Auth-Token": "••••", Cookie: "••••" },
      patient: {
        name: "Li",
        phone: "••••",
        mobilePhone: "••••",
        id_card: "••••",
        contacts: [{ patientIdCard: "••••" }],
      },
      ssn: "••••",
      user_pwd: "••••",
      idNumber: "••••",
      classNames: ["a"],
      lessons: 3,
      secret: null,
    });
    expect(input.password).toBe("p"); // not changed in place
    expect(redactSecrets([1, "two", { token: { nested: 1 } }])).toEqual([1, "two", { token: "••••" }]);
    expect(isSecretKey("social_security_number")).toBe(true);
    expect(isSecretKey("patient_id")).toBe(false);
  });

  it("shortens user agents to the browser and its version", () => {
    expect(
      shortAgent("Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
    ).toBe("Chrome 131");
    expect(shortAgent("curl/8.5.0")).toBe("curl/8.5.0");
    expect(shortAgent(null)).toBe("—");
  });
});
