import { DateTime } from "luxon";
import { ValidationError } from "../../../core/errors";
import { HRP_CRON_JOB_STATES, type HrpCronJobState } from "../../../schema/entities/HrpCronJob";
import type { JobFilter } from "../../../store/listings";
import type { PageContext } from "../../context";

/**
 * The job list's filter, read from the URL (so a filtered list can be
 * bookmarked and shared): `state`, `queue`, `method` (`model.method`),
 * `user` (a login or an id), `since`/`until` (local date-times in the dashboard's time
 * zone), `error` (text in the last error), `q` (qualifiers, as Oban Web's
 * search: `args.patient_id:42 queue:reports error:"timed out"`; bare words
 * search the error text) and `before` (the keyset page).
 */

/** The URL fields of the filter, in the order the form shows them. */
export const FILTER_FIELDS = ["state", "queue", "method", "user", "since", "until", "error", "q"] as const;

/** A filter read from a query: what to pass to `listJobs` (without paging). */
export type JobSearch = Omit<JobFilter, "limit" | "beforeId">;

/**
 * `query` as a job filter, a user given by login looked up through the
 * application's `userResolver` (one given by id is taken as is).
 * @throws ValidationError naming the field that cannot be read, or a login nobody has
 */
export async function jobSearchOf(ctx: PageContext, query: URLSearchParams): Promise<JobSearch> {
  const { search, userLogin } = readJobSearch(query, ctx.options.timeZone);
  if (userLogin === undefined) return search;
  const userId = await ctx.admin.userIdByLogin(userLogin);
  if (userId === null)
    throw new ValidationError("user", "no user has this login (give a login or a user id)", userLogin);
  return { ...search, userId };
}

/**
 * `query` as a job filter, and the login of its user filter when it names
 * one by login. The API checks the values again (names, ids, lengths); this
 * reads the URL's forms of them.
 * @throws ValidationError naming the field that cannot be read
 */
export function readJobSearch(
  query: URLSearchParams,
  timeZone: string | undefined,
): { readonly search: JobSearch; readonly userLogin?: string } {
  const out: { -readonly [K in keyof JobSearch]: JobSearch[K] } = {};
  let userLogin: string | undefined;
  const text = (name: string) => {
    const v = query.get(name)?.trim();
    return v === undefined || v === "" ? undefined : v;
  };
  const apply = (key: string, value: string) => {
    switch (key) {
      case "state":
        if (value === "all") return;
        if (!HRP_CRON_JOB_STATES.includes(value as HrpCronJobState))
          throw new ValidationError("state", `must be one of ${HRP_CRON_JOB_STATES.join(", ")}`, value);
        out.state = value as HrpCronJobState;
        return;
      case "queue":
        out.queue = value;
        return;
      case "method": {
        const dot = value.lastIndexOf(".");
        if (dot <= 0 || dot === value.length - 1)
          throw new ValidationError("method", "must be model.method, e.g. hrp.asset.receive", value);
        out.model = value.slice(0, dot);
        out.function = value.slice(dot + 1);
        return;
      }
      case "user":
        if (/^\d{1,10}$/.test(value)) out.userId = Number(value);
        else userLogin = value;
        return;
      case "since":
      case "until":
        out[key] = localDate(key, value, timeZone);
        return;
      case "error":
        out.errorContains = value;
        return;
      default:
        if (key.startsWith("args.")) {
          out.args = { path: key.slice("args.".length), equals: value };
          return;
        }
        throw new ValidationError(
          "q",
          `unknown qualifier ${key}: use args.PATH, queue, method, state, user or error`,
          key,
        );
    }
  };
  for (const field of FILTER_FIELDS.slice(0, -1)) {
    const v = text(field);
    if (v !== undefined) apply(field, v);
  }
  const q = text("q");
  if (q !== undefined) {
    const words: string[] = [];
    for (const token of tokens(q)) {
      const m = /^([A-Za-z][\w.$-]*):(.*)$/s.exec(token);
      if (m && m[2] !== "") apply(m[1], m[2]);
      else words.push(token);
    }
    if (words.length > 0) out.errorContains = [out.errorContains, ...words].filter(Boolean).join(" ");
  }
  return { search: out, ...(userLogin === undefined ? {} : { userLogin }) };
}

/** The keyset position (`before`), or undefined for the first page. @throws ValidationError */
export function readBefore(query: URLSearchParams): number | undefined {
  const v = query.get("before");
  if (v === null || v === "") return undefined;
  if (!/^\d{1,10}$/.test(v)) throw new ValidationError("before", "must be a job id", v);
  return Number(v);
}

/** Words of a search, a double-quoted part kept whole: `error:"timed out" x` → `error:timed out`, `x`. */
function tokens(q: string): string[] {
  const out: string[] = [];
  const re = /(\S*?)"([^"]*)"|(\S+)/g;
  for (let m = re.exec(q); m !== null; m = re.exec(q)) out.push(m[3] ?? `${m[1]}${m[2]}`);
  return out;
}

/** A `datetime-local` value (or a date) in `timeZone`. @throws ValidationError */
function localDate(field: string, value: string, timeZone: string | undefined): Date {
  const d = DateTime.fromISO(value, { zone: timeZone ?? "system" });
  if (!d.isValid) throw new ValidationError(field, "must be a date and time like 2026-12-01T08:30", value);
  return d.toJSDate();
}
