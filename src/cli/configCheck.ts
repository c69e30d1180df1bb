import { ConfigError } from "../core/errors";
import { resolveDispatcherOptions } from "../core/resolveOptions";
import { ResUsersResolver } from "../store/users";
import { QueueSet } from "../core/queues";
import { checkSchedulerEvents } from "../scheduler/schedulerInput";
import { checkInt } from "../core/validate";
import type { HrpCronConfig } from "./config";

/**
 * Every key a config file may set, with what its value must be. A misspelt
 * key (`schedulerEvent`, `worker`) is refused instead of silently doing
 * nothing; a new config option must be listed here.
 */
const CONFIG_KEYS: Readonly<Record<keyof HrpCronConfig, string>> = {
  dataSource: "object|function",
  registry: "object|function",
  workers: "object",
  schedulerEvents: "object",
  schedulerIntervalMinutes: "number",
  dispatcher: "object",
  setup: "function",
  postgres: "object",
};

/**
 * Checks a loaded config before any command opens the database: its keys,
 * the kinds of their values, and the queue, dispatcher and scheduler
 * settings themselves (the same checks their classes make).
 * @throws ConfigError, ValidationError
 */
export function checkConfig(config: HrpCronConfig, path: string): HrpCronConfig {
  for (const [key, value] of Object.entries(config)) {
    if (key === "__esModule" || value === undefined) continue;
    const expected = CONFIG_KEYS[key as keyof HrpCronConfig];
    if (expected === undefined) {
      throw new ConfigError(`config file ${path}: unknown key "${key}"; known keys are ${Object.keys(CONFIG_KEYS).join(", ")}`, { path, key });
    }
    const kind = value === null ? "null" : typeof value;
    if (!expected.split("|").includes(kind)) {
      throw new ConfigError(`config file ${path}: "${key}" must be ${expected.replace("|", " or ")}, got ${kind}`, { path, key });
    }
  }
  if (config.workers !== undefined) new QueueSet(config.workers);
  if (config.dispatcher !== undefined) {
    resolveDispatcherOptions({ ...config.dispatcher, workers: { ...config.workers, ...config.dispatcher.workers } }, false, new ResUsersResolver());
  }
  if (config.schedulerEvents !== undefined) checkSchedulerEvents(config.schedulerEvents);
  if (config.schedulerIntervalMinutes !== undefined) checkInt("schedulerIntervalMinutes", config.schedulerIntervalMinutes, 1, 59);
  return config;
}
