import { ValidationError } from "../core/errors";

/**
 * A parsed cron expression: the allowed values of each field, as lookup
 * tables. Produced by {@link parseCronFields}; matched against wall-clock
 * time by `cronExpression.ts`.
 */
export interface CronFields {
  /** Whether the expression has a seconds field (6 fields); else seconds are 0. */
  readonly hasSeconds: boolean;
  readonly seconds: readonly boolean[];
  readonly minutes: readonly boolean[];
  readonly hours: readonly boolean[];
  /** Days of the month, index 1..31. */
  readonly days: readonly boolean[];
  /** `L` in the day-of-month field: the last day of the month. */
  readonly lastDay: boolean;
  /** Months, index 1..12. */
  readonly months: readonly boolean[];
  /** Days of the week, 0 = Sunday .. 6 = Saturday (7 is read as Sunday). */
  readonly weekdays: readonly boolean[];
  /** `5L`: the last Friday of the month (by weekday). */
  readonly lastWeekdays: readonly boolean[];
  /** `5#2`: the second Friday; bit k set for the k-th (1..5), by weekday. */
  readonly nthWeekdays: readonly number[];
  /** Day of month is `*` or `?`: days match on the weekday field alone (and vice versa); when both are restricted either may match (Vixie cron). */
  readonly domStar: boolean;
  readonly dowStar: boolean;
  /**
   * No `*` and no `/` in the second, minute and hour fields (`30 2 * * *`,
   * `0,30 9-17 * * *`): such a time is planned on the wall clock, so it
   * runs once when clocks are set back and is moved, not dropped, when they
   * skip it. Other expressions follow elapsed time (see cronExpression.ts).
   */
  readonly fixedTime: boolean;
}

const ALIASES: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};
const MONTH_NAMES: readonly string[] = [
  "JAN",
  "FEB",
  "MAR",
  "APR",
  "MAY",
  "JUN",
  "JUL",
  "AUG",
  "SEP",
  "OCT",
  "NOV",
  "DEC",
];
const DAY_NAMES: readonly string[] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

interface FieldSpec {
  readonly label: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** First value the names map to (1 for months, 0 for weekdays). */
  readonly nameBase?: number;
}

const SECOND: FieldSpec = { label: "second", min: 0, max: 59 };
const MINUTE: FieldSpec = { label: "minute", min: 0, max: 59 };
const HOUR: FieldSpec = { label: "hour", min: 0, max: 23 };
const DAY: FieldSpec = { label: "day of month", min: 1, max: 31 };
const MONTH: FieldSpec = { label: "month", min: 1, max: 12, names: MONTH_NAMES, nameBase: 1 };
const WEEKDAY: FieldSpec = { label: "day of week", min: 0, max: 7, names: DAY_NAMES, nameBase: 0 };

/**
 * Parses a 5-field (`minute hour day month weekday`) or 6-field (seconds
 * first) cron expression, or an alias (`@hourly`, `@daily`, `@midnight`,
 * `@weekly`, `@monthly`, `@yearly`, `@annually`).
 *
 * Each field is a list of `*`, values, ranges `a-b` and steps (`* /n`,
 * `a-b/n`, `a/n` = from a to the end); month and weekday names (`JAN`,
 * `MON`) are accepted, 0 and 7 are both Sunday, repeated values are fine
 * (`0,7`, `1-5,5`). The day-of-month field also takes `L` (last day) and
 * `?`; the weekday field `?`, `5L` (last Friday) and `5#2` (second Friday).
 * @throws ValidationError (field `cron_expression`) saying what is wrong
 */
export function parseCronFields(expression: string): CronFields {
  if (typeof expression !== "string" || expression.trim() === "") {
    throw invalid(expression, 'must be a non-empty cron expression such as "0 2 * * *"');
  }
  let text = expression.trim();
  if (text.startsWith("@")) {
    const alias = ALIASES[text.toLowerCase()];
    if (!alias) throw invalid(expression, `unknown alias "${text}"; use ${Object.keys(ALIASES).join(", ")}`);
    text = alias;
  }
  const parts = text.split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6) {
    throw invalid(
      expression,
      `"${expression}" has ${parts.length} fields; use 5 (minute hour day month weekday) or 6 (with seconds first)`,
    );
  }
  const hasSeconds = parts.length === 6;
  const [sec, min, hour, dom, month, dow] = hasSeconds ? parts : ["0", ...parts];
  const seconds = parseField(expression, sec, SECOND);
  const minutes = parseField(expression, min, MINUTE);
  const hours = parseField(expression, hour, HOUR);
  const months = parseField(expression, month, MONTH);

  let lastDay = false;
  const domItems = dom === "?" ? "*" : dom;
  const plainDom = domItems.split(",").filter((item) => {
    if (item.toUpperCase() !== "L") return true;
    lastDay = true;
    return false;
  });
  const days =
    plainDom.length > 0 ? parseField(expression, plainDom.join(","), DAY) : new Array<boolean>(32).fill(false);

  const lastWeekdays = new Array<boolean>(7).fill(false);
  const nthWeekdays = new Array<number>(7).fill(0);
  const dowItems = (dow === "?" ? "*" : dow).split(",").filter((item) => {
    const last = /^(\w+)L$/i.exec(item);
    const nth = /^(\w+)#(\d+)$/.exec(item);
    if (!last && !nth) return true;
    const day = value(expression, (last ?? nth)![1], WEEKDAY) % 7;
    if (last) lastWeekdays[day] = true;
    else {
      const k = Number(nth![2]);
      if (k < 1 || k > 5) throw invalid(expression, `"${item}": the week of the month after # must be 1 to 5`);
      nthWeekdays[day] |= 1 << k;
    }
    return false;
  });
  const weekdayTable =
    dowItems.length > 0 ? parseField(expression, dowItems.join(","), WEEKDAY) : new Array<boolean>(8).fill(false);
  const weekdays = weekdayTable.slice(0, 7);
  if (weekdayTable[7]) weekdays[0] = true;

  const wallClock = (field: string) => !field.includes("*") && !field.includes("/");
  return {
    hasSeconds,
    seconds,
    minutes,
    hours,
    days,
    lastDay,
    months,
    weekdays,
    lastWeekdays,
    nthWeekdays,
    domStar: domItems === "*",
    dowStar: dow === "*" || dow === "?",
    fixedTime: wallClock(sec) && wallClock(min) && wallClock(hour),
  };
}

/** A lookup table (index = value) of the values `field` allows. */
function parseField(expression: string, field: string, spec: FieldSpec): boolean[] {
  const table = new Array<boolean>(spec.max + 1).fill(false);
  for (const item of field.split(",")) {
    if (item === "") throw invalid(expression, `empty item in the ${spec.label} field "${field}"`);
    const [range, stepText, extra] = item.split("/");
    if (extra !== undefined) throw invalid(expression, `"${item}" has two steps`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1 || Number(stepText) > spec.max - spec.min + 1) {
        throw invalid(
          expression,
          `step "${stepText}" in "${item}" must be a whole number from 1 to ${spec.max - spec.min + 1}`,
        );
      }
      step = Number(stepText);
    }
    // Sunday is 0 and 7; "*" and "a/n" stop at Saturday so that Sunday is not counted twice.
    const last = spec === WEEKDAY ? 6 : spec.max;
    let lo: number;
    let hi: number;
    if (range === "*") {
      lo = spec.min;
      hi = last;
    } else if (range.includes("-")) {
      const [a, b, more] = range.split("-");
      if (more !== undefined) throw invalid(expression, `"${item}" is not a range a-b`);
      lo = value(expression, a, spec);
      hi = value(expression, b, spec);
      if (lo > hi)
        throw invalid(
          expression,
          `range "${range}" in the ${spec.label} field goes backwards; write it as a list instead`,
        );
    } else {
      lo = value(expression, range, spec);
      hi = stepText === undefined ? lo : last;
    }
    for (let v = lo; v <= hi; v += step) table[v] = true;
  }
  return table;
}

function value(expression: string, text: string, spec: FieldSpec): number {
  const upper = text.toUpperCase();
  const named = spec.names?.indexOf(upper) ?? -1;
  const n = named >= 0 ? named + (spec.nameBase ?? 0) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < spec.min || n > spec.max) {
    const names = spec.names ? ` or a name (${spec.names[0]}..${spec.names[spec.names.length - 1]})` : "";
    throw invalid(expression, `"${text}" is not a valid ${spec.label}: use ${spec.min}-${spec.max}${names}`);
  }
  return n;
}

function invalid(expression: unknown, reason: string): ValidationError {
  return new ValidationError(
    "cron_expression",
    `${typeof expression === "string" ? `"${expression}" is not a valid cron expression: ` : ""}${reason}`,
    expression,
  );
}
