import type { Translate } from "../../i18n/messages";
import type { IntervalType } from "../../../scheduling/interval";

/**
 * Schedules in plain words, in the reader's language (Oban Web shows
 * crons so): "every day at 02:00", "every 15 minutes", "at minute 5 of
 * every hour", "every Monday to Friday at 08:30"; Odoo's interval
 * (`interval_number` x `interval_type`) and Frappe's frequencies too.
 * What it cannot put in words comes back as the expression itself
 * ("cron 0 9-17/2 * * 1-5"), never as something wrong. It reads the text
 * of an expression the scheduler has already validated; it decides
 * nothing about when a schedule runs (src/scheduling does).
 */

const ALIASES: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};
const DAY_NAMES: readonly string[] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
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

/** A cron expression (5 fields, or 6 with seconds first; aliases such as `@daily`) in words. */
export function describeCron(expression: string, t: Translate): string {
  const fallback = t("crons.desc.expression", { expr: expression });
  const fields = (ALIASES[expression.trim().toLowerCase()] ?? expression).trim().split(/\s+/);
  if (fields.length === 6) {
    const [s, ...rest] = fields;
    if (rest.every((f) => f === "*")) {
      if (s === "*") return t("crons.desc.everySecond");
      const every = step(s, 60);
      if (every !== null) return t("crons.desc.everySeconds", { n: every });
    }
    if (s !== "0") return fallback;
    fields.shift();
  }
  if (fields.length !== 5) return fallback;
  const [mi, h, dom, mon, dow] = fields;
  const days = dayPart(dom, mon, dow, t);
  const time = timePart(mi, h, t);
  if (days === null || time === null) return fallback;
  if (time.kind === "clock") {
    const at = time.text;
    switch (days.kind) {
      case "daily":
        return t("crons.desc.dailyAt", { time: at });
      case "weekly":
        return t("crons.desc.weeklyAt", { days: days.text, time: at });
      case "monthly":
        return t("crons.desc.monthlyAt", { days: days.text, time: at });
      case "lastDay":
        return t("crons.desc.lastDayAt", { time: at });
      case "yearly":
        return t("crons.desc.yearlyAt", { date: days.text, time: at });
    }
  }
  if (days.kind === "daily") return time.text;
  const on =
    days.kind === "weekly"
      ? t("crons.desc.onWeekdays", { days: days.text })
      : days.kind === "monthly"
        ? t("crons.desc.onMonthDays", { days: days.text })
        : days.kind === "lastDay"
          ? t("crons.desc.onLastDay")
          : t("crons.desc.onDate", { date: days.text });
  return t("crons.desc.joined", { time: time.text, days: on });
}

/** Odoo's `interval_number` x `interval_type` in words; `at` (HH:MM) adds the time of day of a calendar interval. */
export function describeInterval(type: IntervalType, n: number, t: Translate, at?: string): string {
  const base = n === 1 ? t(`crons.desc.interval.${type}.one`) : t(`crons.desc.interval.${type}`, { n });
  return at && type !== "minutes" && type !== "hours" ? t("crons.desc.intervalAt", { every: base, time: at }) : base;
}

/**
 * A Scheduled Job Type's frequency in words: its expression's (`expression`,
 * from `expressionOf`), and "long queue" for the `... Long` frequencies.
 */
export function describeFrequency(frequency: string, expression: string, t: Translate): string {
  const words = describeCron(expression, t);
  return frequency.endsWith(" Long") ? t("crons.desc.long", { words }) : words;
}

type TimePart = { kind: "clock"; text: string } | { kind: "repeat"; text: string };
type DayPart = { kind: "daily" | "weekly" | "monthly" | "lastDay" | "yearly"; text: string };

function timePart(mi: string, h: string, t: Translate): TimePart | null {
  const minutes = numbers(mi, 0, 59);
  const hours = numbers(h, 0, 23);
  if (h === "*") {
    if (mi === "*") return { kind: "repeat", text: t("crons.desc.everyMinute") };
    const every = step(mi, 60);
    if (every !== null) return { kind: "repeat", text: t("crons.desc.everyMinutes", { n: every }) };
    if (minutes?.length === 1)
      return {
        kind: "repeat",
        text: minutes[0] === 0 ? t("crons.desc.everyHour") : t("crons.desc.minuteOfHour", { m: minutes[0] }),
      };
    return null;
  }
  const everyHours = step(h, 24);
  if (everyHours !== null && minutes?.length === 1)
    return { kind: "repeat", text: t("crons.desc.minuteOfHours", { m: minutes[0], n: everyHours }) };
  if (minutes && hours && minutes.length * hours.length <= 6) {
    const times = hours.flatMap((hh) => minutes.map((mm) => `${pad(hh)}:${pad(mm)}`));
    return { kind: "clock", text: list(times, t) };
  }
  return null;
}

function dayPart(dom: string, mon: string, dow: string, t: Translate): DayPart | null {
  const anyDom = dom === "*" || dom === "?";
  const anyDow = dow === "*" || dow === "?";
  if (mon === "*" && anyDom && anyDow) return { kind: "daily", text: "" };
  if (mon === "*" && anyDom) {
    const weekdays = weekdaysOf(dow);
    if (weekdays === null) return null;
    if (weekdays.length === 7) return { kind: "daily", text: "" };
    const names = (d: number) => t(`crons.desc.day.${d}`);
    const text =
      weekdays.length === 5 && [1, 2, 3, 4, 5].every((d) => weekdays.includes(d))
        ? t("crons.desc.workdays")
        : list(weekdays.map(names), t);
    return { kind: "weekly", text };
  }
  if (!anyDow) return null;
  if (mon === "*") {
    if (dom.toUpperCase() === "L") return { kind: "lastDay", text: "" };
    const days = numbers(dom, 1, 31);
    return days ? { kind: "monthly", text: list(days.map(String), t) } : null;
  }
  const months = numbers(mon, 1, 12, MONTH_NAMES, 1);
  const days = numbers(dom, 1, 31);
  if (!months || months.length !== 1 || !days || days.length !== 1) return null;
  return { kind: "yearly", text: t(`crons.desc.date`, { month: t(`crons.desc.month.${months[0]}`), day: days[0] }) };
}

/** Weekdays 0-6 (7 read as Sunday) of a day-of-week field of names, numbers, lists and ranges; null for other forms. */
function weekdaysOf(field: string): number[] | null {
  const values = numbers(field, 0, 7, DAY_NAMES, 0);
  if (!values) return null;
  return [...new Set(values.map((d) => d % 7))].sort((a, b) => (a === 0 ? 7 : a) - (b === 0 ? 7 : b));
}

/** The values of a field made of numbers (or names), lists and ranges; null for `*`, steps and other forms. */
function numbers(field: string, min: number, max: number, names?: readonly string[], base = 0): number[] | null {
  const value = (text: string): number | null => {
    const i = names ? names.indexOf(text.toUpperCase()) : -1;
    if (i >= 0) return i + base;
    if (!/^\d{1,2}$/.test(text)) return null;
    const n = Number(text);
    return n >= min && n <= max ? n : null;
  };
  const out: number[] = [];
  for (const part of field.split(",")) {
    const range = /^([^-]+)-([^-]+)$/.exec(part);
    if (range) {
      const [a, b] = [value(range[1]), value(range[2])];
      if (a === null || b === null || b < a) return null;
      for (let v = a; v <= b; v++) out.push(v);
    } else {
      const v = value(part);
      if (v === null) return null;
      out.push(v);
    }
  }
  return [...new Set(out)].sort((a, b) => a - b);
}

/**
 * N of `*` + `/N` (or `0/N`) when N divides `cycle` (so "every N" is true
 * across the hour or day: `*\/7` restarts at minute 0 each hour), else null.
 */
function step(field: string, cycle: number): number | null {
  const m = /^(?:\*|0)\/(\d{1,2})$/.exec(field);
  return m && Number(m[1]) > 0 && cycle % Number(m[1]) === 0 ? Number(m[1]) : null;
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** `a`, `a and b`, `a, b and c` in the reader's language. */
function list(items: readonly string[], t: Translate): string {
  if (items.length <= 1) return items.join("");
  return t("crons.desc.list", { items: items.slice(0, -1).join(t("crons.desc.listSep")), last: items.at(-1)! });
}
