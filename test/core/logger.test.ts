import { Writable } from "node:stream";
import pino from "pino";
import { consoleLogger, pinoLogger } from "../../src";

/** What console.info printed while `work` ran. */
function printed(work: () => void): string[] {
  const lines: string[] = [];
  const spy = jest.spyOn(console, "info").mockImplementation((line: string) => void lines.push(line));
  try {
    work();
  } finally {
    spy.mockRestore();
  }
  return lines;
}

describe("logging", () => {
  const saved = { level: process.env.HRP_CRON_LOG_LEVEL, format: process.env.HRP_CRON_LOG_FORMAT };
  afterEach(() => {
    for (const [key, value] of [
      ["HRP_CRON_LOG_LEVEL", saved.level],
      ["HRP_CRON_LOG_FORMAT", saved.format],
    ] as const)
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
  });

  it("the console logger writes text lines, or one JSON object per line in json format", () => {
    delete process.env.HRP_CRON_LOG_LEVEL;
    delete process.env.HRP_CRON_LOG_FORMAT;
    expect(printed(() => consoleLogger("info").info("job done", { jobId: 7 }))).toEqual([
      '[hrp-cron] info job done {"jobId":7}',
    ]);
    const [line] = printed(() => consoleLogger("info", { format: "json" }).info("job done", { jobId: 7, msg: "x" }));
    expect(JSON.parse(line)).toEqual({
      level: "info",
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      name: "hrp-cron",
      msg: "job done",
      context: { jobId: 7, msg: "x" }, // a key that would hide the line's own field stays under context
    });
    process.env.HRP_CRON_LOG_FORMAT = "json";
    expect(JSON.parse(printed(() => consoleLogger("info").info("a", { b: 1 }))[0])).toMatchObject({ msg: "a", b: 1 });
    expect(printed(() => consoleLogger("warn").info("below the level"))).toEqual([]);
  });

  it("pinoLogger hands pino its context object first, so nothing is dropped", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = pinoLogger(pino({ level: "debug" }, sink));
    logger.warn("claim released", { cronId: 3, workerId: "w1" });
    logger.debug("no context");
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ level: 40, msg: "claim released", cronId: 3, workerId: "w1" }),
      expect.objectContaining({ level: 20, msg: "no context" }),
    ]);
  });
});
