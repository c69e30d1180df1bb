import { currentUserId } from "../core/context";
import { UnknownMethodError, ValidationError } from "../core/errors";
import { DEFAULTS, optionKeys } from "../core/options";
import type { ModelRegistry } from "../core/registry";
import {
  checkArray,
  checkDate,
  checkId,
  checkName,
  checkOptionalDate,
  checkOptions,
  checkPriority,
  serializeArgs,
} from "../core/validate";
import type { NewJob, NewJobSchedule } from "../store/jobs";

/**
 * One call of {@link HrpCronJobService.runByCronBulk}: the arguments of
 * `runByCron(name, model, fn, args, priority, userId, dateCreated)`, by name.
 */
export interface RunByCronCall {
  /** What the job is called in listings and the run log. */
  readonly name: string;
  /** The registered method to call: `model.function`. */
  readonly model: string;
  readonly function: string;
  /** A JSON array; the method is called as `function(env, ...args)`. @defaultValue [] */
  readonly args?: unknown[];
  /** Lower runs first. @defaultValue 10 */
  readonly priority?: number;
  /** Who the job runs as. @defaultValue the ambient user (`runAsUser`), else `defaultUserId` */
  readonly userId?: number;
  /** When it is due. @defaultValue now */
  readonly dateCreated?: Date;
}

/** What every call of one `runByCron` / `runByCronBulk` shares. */
export interface RunByCronContext {
  /** Refuses unregistered methods when given. */
  readonly registry?: ModelRegistry;
  readonly defaultUserId: number;
  /** The call's time: `create_date`, and the due time of calls without `dateCreated`. */
  readonly now: Date;
  /** The caller's trace context, stored with the jobs (null: tracing off, or no active span). */
  readonly traceContext: string | null;
}

const CALL_KEYS = optionKeys<RunByCronCall>({
  name: true,
  model: true,
  function: true,
  args: true,
  priority: true,
  userId: true,
  dateCreated: true,
});

/**
 * The calls of `runByCronBulk`: an array (no holes) of plain objects with
 * known keys only (a typo such as `fn` is refused, not ignored) and a
 * `null` in none of them (leave a key out for its default). Returns plain
 * copies. @throws ValidationError naming the entry (`calls[3]`)
 */
export function checkRunByCronCalls(calls: readonly RunByCronCall[]): RunByCronCall[] {
  if (calls === undefined)
    throw new ValidationError("calls", "expected an array of { name, model, function, args?, ... }", calls);
  return checkArray("calls", calls).map((call, i) => {
    const at = `calls[${i}]`;
    if (call === undefined || call === null)
      throw new ValidationError(at, "expected { name, model, function, args?, ... }", call);
    return checkOptions(at, call as RunByCronCall, CALL_KEYS);
  });
}

/** The named form of `runByCron`: a plain object with known keys only. @throws ValidationError */
export function checkRunByCronCall(call: RunByCronCall): RunByCronCall {
  if (typeof call !== "object" || call === null)
    throw new ValidationError("call", "expected { name, model, function, args?, ... }", call);
  return checkOptions("call", call, CALL_KEYS);
}

/**
 * Validates one call of `runByCron` the same way whether it comes alone or
 * in a bulk, and builds its rows: the `hrp_cron_job` row (its `userKey`
 * is set once the user is checked, in the transaction) and its one-shot
 * `ir_cron` schedule (`doall`, due at `dateCreated`). `item` names the
 * bulk call's entry in errors (`calls[3]`: field `calls[3].priority`).
 * @throws ValidationError, UnknownMethodError — and then nothing was written
 */
export function planRunByCron(
  call: RunByCronCall,
  context: RunByCronContext,
  item?: string,
): { job: NewJob; schedule: NewJobSchedule } {
  const at = item ? `${item}.` : "";
  checkOptionalDate(`${at}dateCreated`, call.dateCreated);
  const name = checkName(`${at}name`, call.name);
  const model = checkName(`${at}model`, call.model, 128);
  const fn = checkName(`${at}function`, call.function, 128);
  if (context.registry && !context.registry.has(model, fn)) throw new UnknownMethodError(model, fn, item);
  const argsJson = serializeArgs(call.args === undefined ? [] : call.args, `${at}args`);
  const priority = checkPriority(call.priority === undefined ? DEFAULTS.jobPriority : call.priority, `${at}priority`);
  const uid = checkId(`${at}userId`, call.userId ?? currentUserId() ?? context.defaultUserId);
  const startAt = call.dateCreated === undefined ? context.now : checkDate(`${at}dateCreated`, call.dateCreated);
  const job: NewJob = {
    name,
    model,
    function: fn,
    args: argsJson,
    priority,
    userId: uid,
    userKey: null,
    dateCreated: startAt,
    state: "pending",
    dateStarted: null,
    dateDone: null,
    excInfo: null,
    createUid: currentUserId() ?? uid,
    createDate: context.now,
    kind: "cron",
    jobKey: null,
    maxRetries: 0,
    attempts: 0,
    retryBackoffMs: null,
    workerId: null,
    onSuccess: null,
    onFailure: null,
    queue: "default",
    timeoutMs: null,
    concurrencyKey: null,
    concurrencyLimit: null,
    traceContext: context.traceContext,
  };
  return { job, schedule: { nextcall: startAt, doall: true } };
}
