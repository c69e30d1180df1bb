import type { Translate } from "../i18n/messages";

/** How values read on a page: dates in the dashboard's time zone, durations and ages in words a person scans. */

/** `2026-12-01 09:30:05` in `timeZone` (the server's when undefined); `—` for no date. */
export function formatDate(date: Date | null | undefined, timeZone: string | undefined): string {
  if (!date) return "—";
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).formatToParts(date);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")}:${get("second")}`;
}

/** A duration: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 10 min`, `3 d 4 h`. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  const a = Math.abs(ms);
  if (a < 1000) return `${Math.round(ms)} ms`;
  if (a < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(a / 1000);
  const sign = ms < 0 ? "-" : "";
  if (s < 3600) return `${sign}${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  if (s < 86_400) return `${sign}${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${sign}${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

/** How long ago (or, for a future date, in how long), with `t`'s words: "3 min ago", "in 20 s". */
export function formatAge(date: Date | null | undefined, now: Date, t: Translate): string {
  if (!date) return "—";
  const ms = now.getTime() - date.getTime();
  const d = formatDuration(Math.abs(ms));
  return ms >= 0 ? t("common.ago", { d }) : t("common.in", { d });
}

/** A count with thousands separators. */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** A ratio as a percentage with one decimal: `12.5%`; `—` when there is nothing to divide. */
export function formatPercent(part: number, whole: number): string {
  return whole === 0 ? "—" : `${((100 * part) / whole).toFixed(1)}%`;
}
