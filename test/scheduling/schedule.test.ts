import {
  addInterval,
  computeCatchUp,
  nextCronOccurrence,
  nextOccurrence,
  planCalls,
  validateCronExpression,
  validateSchedule,
  ValidationError,
} from "../../src";

const utc = (s: string) => new Date(s.endsWith("Z") ? s : `${s}Z`);

describe("addInterval", () => {
  it("adds minutes and hours as absolute durations", () => {
    expect(addInterval(utc("2026-01-01T00:00:00"), "minutes", 90)).toEqual(utc("2026-01-01T01:30:00"));
    expect(addInterval(utc("2026-01-01T23:00:00"), "hours", 2)).toEqual(utc("2026-01-02T01:00:00"));
  });

  it("clamps a month step from the 31st to the month's last day", () => {
    expect(addInterval(utc("2026-01-31T08:00:00"), "months", 1)).toEqual(utc("2026-02-28T08:00:00"));
    expect(addInterval(utc("2028-01-31T08:00:00"), "months", 1)).toEqual(utc("2028-02-29T08:00:00"));
    expect(addInterval(utc("2026-03-31T08:00:00"), "months", 1)).toEqual(utc("2026-04-30T08:00:00"));
  });

  it("keeps local wall-clock time across a DST change for day steps", () => {
    // New York springs forward on 2026-03-08: 02:00 local does not exist that day.
    const before = new Date("2026-03-07T06:30:00-05:00"); // 06:30 EST
    const after = addInterval(before, "days", 1, "America/New_York");
    expect(after.toISOString()).toBe(new Date("2026-03-08T06:30:00-04:00").toISOString()); // 06:30 EDT, 23 h later
    expect(after.getTime() - before.getTime()).toBe(23 * 3_600_000);
  });

  it("keeps hours absolute across a DST change", () => {
    const before = new Date("2026-03-08T01:30:00-05:00");
    expect(addInterval(before, "hours", 1, "America/New_York").getTime() - before.getTime()).toBe(3_600_000);
  });

  it("skips weekends for work_days", () => {
    // 2026-11-20 is a Friday.
    expect(addInterval(utc("2026-11-20T09:00:00"), "work_days", 1)).toEqual(utc("2026-11-23T09:00:00"));
    expect(addInterval(utc("2026-11-20T09:00:00"), "work_days", 6)).toEqual(utc("2026-11-30T09:00:00"));
    expect(addInterval(utc("2026-11-21T09:00:00"), "work_days", 1)).toEqual(utc("2026-11-23T09:00:00"));
  });

  it("rejects bad intervals and zones", () => {
    expect(() => addInterval(new Date(), "fortnights" as never, 1)).toThrow(ValidationError);
    expect(() => addInterval(new Date(), "days", 0)).toThrow(/interval_number/);
    expect(() => addInterval(new Date(), "days", 1.5)).toThrow(/interval_number/);
    expect(() => addInterval(new Date(), "days", 1, "Mars/Olympus")).toThrow(/time zone/);
  });
});

describe("cron expressions", () => {
  it("finds the next occurrence strictly after a date, in the given zone", () => {
    expect(nextCronOccurrence("0 2 * * *", utc("2026-11-22T00:00:00"))).toEqual(utc("2026-11-22T02:00:00"));
    expect(nextCronOccurrence("0 2 * * *", utc("2026-11-22T02:00:00"))).toEqual(utc("2026-11-23T02:00:00"));
    // 02:00 in Shanghai (UTC+8) is 18:00 UTC the day before.
    expect(nextCronOccurrence("0 2 * * *", utc("2026-11-22T00:00:00"), "Asia/Shanghai")).toEqual(
      utc("2026-11-22T18:00:00"),
    );
  });

  it("stays on local time across DST", () => {
    // 09:00 Berlin is 08:00 UTC in winter, 07:00 UTC after 2026-03-29.
    expect(nextCronOccurrence("0 9 * * *", utc("2026-03-28T10:00:00"), "Europe/Berlin")).toEqual(
      utc("2026-03-29T07:00:00"),
    );
    expect(nextCronOccurrence("0 9 * * *", utc("2026-03-27T10:00:00"), "Europe/Berlin")).toEqual(
      utc("2026-03-28T08:00:00"),
    );
  });

  it("rejects invalid expressions with a clear error", () => {
    expect(() => validateCronExpression("61 * * * *")).toThrow(ValidationError);
    expect(() => validateCronExpression("every day")).toThrow(/cron_expression/);
    expect(() => validateCronExpression("* * *")).toThrow(/3 fields/);
    expect(() => validateCronExpression("")).toThrow(/non-empty/);
    expect(() => validateCronExpression("0 2 * * *", "Nowhere/City")).toThrow(/time zone/);
    expect(() => validateSchedule({ kind: "cron", expression: "0 25 * * *", timeZone: "UTC" })).toThrow(
      ValidationError,
    );
  });
});

describe("computeCatchUp", () => {
  const hourly = { kind: "interval", intervalType: "hours", intervalNumber: 1, timeZone: "UTC" } as const;

  it("reports nothing missed while nextcall is in the future", () => {
    const nextcall = utc("2026-01-01T10:00:00");
    expect(computeCatchUp(hourly, nextcall, utc("2026-01-01T09:59:59"))).toEqual({ missed: 0, nextcall });
  });

  it("counts nextcall itself and keeps the phase", () => {
    expect(computeCatchUp(hourly, utc("2026-01-01T09:00:00"), utc("2026-01-01T09:00:00"))).toEqual({
      missed: 1,
      nextcall: utc("2026-01-01T10:00:00"),
    });
    expect(computeCatchUp(hourly, utc("2026-01-01T09:00:00"), utc("2026-01-01T11:20:00"))).toEqual({
      missed: 3,
      nextcall: utc("2026-01-01T12:00:00"),
    });
  });

  it("handles a year of missed minutes arithmetically", () => {
    const minutely = { kind: "interval", intervalType: "minutes", intervalNumber: 1, timeZone: "UTC" } as const;
    const result = computeCatchUp(minutely, utc("2025-01-01T00:00:00"), utc("2026-01-01T00:00:30"));
    expect(result.missed).toBe(365 * 24 * 60 + 1);
    expect(result.nextcall).toEqual(utc("2026-01-01T00:01:00"));
  });

  it("walks calendar months with month-end clamping", () => {
    const monthly = { kind: "interval", intervalType: "months", intervalNumber: 1, timeZone: "UTC" } as const;
    const result = computeCatchUp(monthly, utc("2026-01-31T00:00:00"), utc("2026-04-01T00:00:00"));
    // Jan 31, Feb 28, Mar 28 (the clamp carries, as in Odoo's successive relativedelta).
    expect(result.missed).toBe(3);
    expect(result.nextcall).toEqual(utc("2026-04-28T00:00:00"));
  });

  it("walks cron occurrences", () => {
    const daily = { kind: "cron", expression: "0 2 * * *", timeZone: "UTC" } as const;
    expect(computeCatchUp(daily, utc("2026-01-01T02:00:00"), utc("2026-01-04T03:00:00"))).toEqual({
      missed: 4,
      nextcall: utc("2026-01-05T02:00:00"),
    });
  });

  it("jumps past a huge calendar backlog without losing the phase", () => {
    const daily = { kind: "interval", intervalType: "days", intervalNumber: 1, timeZone: "UTC" } as const;
    const result = computeCatchUp(daily, utc("2000-01-01T05:00:00"), utc("2026-01-01T06:00:00"), 100);
    expect(result.missed).toBe(100);
    expect(result.nextcall).toEqual(utc("2026-01-02T05:00:00"));
  });

  it("nextOccurrence for intervals is the first anchor + k*interval after the date", () => {
    expect(nextOccurrence(hourly, utc("2026-01-01T09:00:00"), utc("2026-01-01T11:20:00"))).toEqual(
      utc("2026-01-01T12:00:00"),
    );
  });
});

describe("planCalls (Odoo 16/17 catch-up matrix)", () => {
  it.each([
    // doall, numbercall, missed -> calls, numbercall left, active
    [false, -1, 2, 1, -1, true],
    [true, -1, 2, 2, -1, true],
    [false, 3, 2, 1, 2, true],
    [true, 3, 2, 2, 1, true],
    [true, 3, 4, 3, 0, false],
    [false, 1, 5, 1, 0, false],
    [true, 3, 0, 1, 2, true],
    [false, -1, 0, 1, -1, true],
  ])(
    "doall=%s numbercall=%i missed=%i -> %i calls, %i left, active=%s",
    (doall, numbercall, missed, calls, left, active) => {
      expect(planCalls({ doall, numbercall, missed })).toEqual({ calls, numbercallLeft: left, active });
    },
  );

  it("caps doall at maxCalls", () => {
    expect(planCalls({ doall: true, numbercall: -1, missed: 5000, maxCalls: 100 }).calls).toBe(100);
  });

  it("rejects a numbercall below -1", () => {
    expect(() => planCalls({ doall: false, numbercall: -2, missed: 1 })).toThrow(ValidationError);
  });
});

describe("schedule maths at the edges (issue 12)", () => {
  const ny = "America/New_York"; // springs forward on 2026-03-08: 02:00-03:00 does not exist

  it("a daily interval planned in a skipped hour runs shifted once, then returns to its planned time", () => {
    const daily = { kind: "interval", intervalType: "days", intervalNumber: 1, timeZone: ny } as const;
    let nextcall = new Date("2026-03-07T02:30:00-05:00");
    let planned: string | undefined;
    const runs: string[] = [];
    for (let i = 0; i < 3; i++) {
      ({ nextcall, planned } = computeCatchUp(daily, nextcall, nextcall, undefined, planned ?? null));
      runs.push(nextcall.toISOString());
    }
    // 2026-03-08 02:30 does not exist: 03:30 EDT; then 02:30 EDT again.
    expect(runs).toEqual(["2026-03-08T07:30:00.000Z", "2026-03-09T06:30:00.000Z", "2026-03-10T06:30:00.000Z"]);
  });

  it("work_days do not drift by stepping through a skipped hour on a weekend", () => {
    // Friday 02:30 EST + 1 work day = Monday 02:30 EDT (not 03:30, as stepping through Sunday's gap gave).
    expect(addInterval(new Date("2026-03-06T02:30:00-05:00"), "work_days", 1, ny).toISOString()).toBe(
      "2026-03-09T06:30:00.000Z",
    );
  });

  it("catch-up by jumping equals walking, month-end clamps chained as Odoo does", () => {
    const monthly = { kind: "interval", intervalType: "months", intervalNumber: 1, timeZone: "UTC" } as const;
    const walked = computeCatchUp(monthly, utc("2026-01-31T00:00:00"), utc("2026-04-01T00:00:00"));
    const jumped = computeCatchUp(monthly, utc("2026-01-31T00:00:00"), utc("2026-04-01T00:00:00"), 1);
    expect(walked.nextcall).toEqual(utc("2026-04-28T00:00:00")); // Jan 31, Feb 28, Mar 28, Apr 28
    expect(jumped.nextcall).toEqual(walked.nextcall);
  });

  it("accepts duplicate values in lists", () => {
    expect(() => validateCronExpression("0 9 * * 0,7")).not.toThrow();
    expect(() => validateCronExpression("0 9 * * 1-5,5")).not.toThrow();
    expect(nextCronOccurrence("0 9 * * 0,7", utc("2026-01-01T00:00:00"))).toEqual(utc("2026-01-04T09:00:00"));
  });

  it("keeps going in a 45-minute-offset zone across its DST change, and skips no existing time", () => {
    // Chatham: 2029-04-01 03:45 CHADT (+13:45) goes back to 02:45 CHAST (+12:45); cron-parser gave up here.
    let at = utc("2029-03-31T10:00:00");
    for (let i = 0; i < 48; i++) at = nextCronOccurrence("57 * * * *", at, "Pacific/Chatham");
    expect(at).toEqual(utc("2029-04-02T09:12:00"));
    // 2029-09-30 02:45 CHAST jumps to 03:45 CHADT: 03:45-03:59 exist and run; the fixed 03:00 moves to 04:00.
    expect(nextCronOccurrence("* 3 * * *", utc("2029-09-29T13:00:00"), "Pacific/Chatham")).toEqual(
      utc("2029-09-29T14:00:00"),
    );
    expect(nextCronOccurrence("0 3 * * *", utc("2029-09-29T13:00:00"), "Pacific/Chatham")).toEqual(
      utc("2029-09-29T14:15:00"),
    );
  });

  it("runs a fixed time that occurs twice once, and a skipped one shifted, never dropped", () => {
    expect(nextCronOccurrence("30 1 * * *", utc("2026-11-01T05:30:00"), ny)).toEqual(
      new Date("2026-11-02T01:30:00-05:00"),
    );
    expect(nextCronOccurrence("30 2 * * *", utc("2026-03-07T08:00:00"), ny)).toEqual(
      new Date("2026-03-08T03:30:00-04:00"),
    );
  });

  it("refuses what leaves 0001-9999 or never matches", () => {
    expect(() => addInterval(utc("2026-01-01T00:00:00"), "months", 52_704_000)).toThrow(/after 9999-12-31/);
    expect(() => nextCronOccurrence("0 0 1 1 *", utc("9999-06-01T00:00:00"))).toThrow(ValidationError);
    expect(() =>
      computeCatchUp(
        { kind: "interval", intervalType: "days", intervalNumber: 1, timeZone: "UTC" },
        utc("9999-12-31T10:00:00"),
        utc("9999-12-31T11:00:00"),
      ),
    ).toThrow(/Invalid schedule/);
    expect(() => validateCronExpression("0 0 30 2 *")).toThrow(/never matches/);
  });
});
