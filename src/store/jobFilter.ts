import type { Backend } from "../backend";
import type { HrpCronJobState } from "../schema/entities/HrpCronJob";

/** A job filter, and its WHERE conditions, shared by listings (`listJobs`) and bulk actions. */

/** Filters for {@link HrpCronJobService.listJobs}. */
export interface JobFilter {
  readonly state?: HrpCronJobState;
  readonly queue?: string;
  readonly model?: string;
  /** Method name (`function` column). */
  readonly function?: string;
  readonly userId?: number;
  /** Jobs due (`date_created`) at or after this date. */
  readonly since?: Date;
  /** Jobs due before this date. */
  readonly until?: Date;
  /** Jobs whose last error (`exc_info`, message and stack) contains this text, ignoring case. */
  readonly errorContains?: string;
  /** Jobs with this argument value (compared as text). See {@link ArgsMatch}. */
  readonly args?: ArgsMatch;
  /** Only these jobs (an operator's selection); at most 1000 ids. */
  readonly ids?: readonly number[];
  /** Jobs with an id below this one: the next page of a newest-first listing (keyset paging), given its last id. */
  readonly beforeId?: number;
  /** @defaultValue 100 */
  readonly limit?: number;
}

/**
 * One argument's value, for finding jobs by what they were called with:
 * `{ path: "patient_id", equals: 42 }`. A path is dotted; one that starts
 * with a number is positional (`"0"`, `"1.code"`), any other is a key of
 * the keyword arguments (`kwargs`). Values compare as text: `42` matches
 * the number 42 and the string "42".
 */
export interface ArgsMatch {
  readonly path: string;
  readonly equals: string | number | boolean;
}

/** Conditions (joined with AND) and their parameters, in order. */
export interface FilterSql {
  readonly where: string[];
  readonly params: unknown[];
}

/**
 * `filter`'s conditions on `hrp_cron_job` (state, queue, method, user, due
 * dates, error text, an argument's value, keyset position). `filter` must
 * have been checked (`checkJobFilter`): its values are bound, never spliced.
 */
export function jobFilterSql(backend: Backend, filter: Omit<JobFilter, "limit">): FilterSql {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (condition: string, ...values: unknown[]) => {
    if (values[0] === undefined) return;
    where.push(condition);
    params.push(...values);
  };
  add("state = ?", filter.state);
  add("queue = ?", filter.queue);
  add("model = ?", filter.model);
  add("function = ?", filter.function);
  add("user_id = ?", filter.userId);
  add("date_created >= ?", filter.since && backend.toDbDate(filter.since));
  add("date_created < ?", filter.until && backend.toDbDate(filter.until));
  add("id < ?", filter.beforeId);
  add(backend.idIn("id"), filter.ids && backend.idList(filter.ids));
  // A substring test alike on both databases: LIKE on lowered text, the text's own wildcards escaped.
  add(
    "LOWER(exc_info) LIKE ? ESCAPE '\\'",
    filter.errorContains === undefined
      ? undefined
      : `%${filter.errorContains.toLowerCase().replace(/[\\%_]/g, "\\$&")}%`,
  );
  if (filter.args !== undefined) {
    where.push(`${backend.jsonText("args")} = ?`);
    params.push(...backend.jsonPath(argsJsonPath(filter.args.path)), String(filter.args.equals));
  }
  return { where, params };
}

/**
 * A dotted argument path as a JSON path into the stored `args` array: a
 * path that starts with a number is positional (`0`, `1.code`); any other
 * names a key of the keyword arguments, which are the last argument
 * (`enqueue(..., { kwargs })` stores `[kwargs]`, `enqueueDoc` stores
 * `[id, kwargs]`).
 */
export function argsJsonPath(path: string): Array<string | number> {
  const parts: Array<string | number> = path.split(".").map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  return typeof parts[0] === "number" ? parts : [-1, ...parts];
}
