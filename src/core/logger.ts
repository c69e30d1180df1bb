import type { Logger } from "./types";

const LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LEVELS)[number];

/**
 * A console logger printing messages at `level` and above, one line each
 * with JSON context. The library default is `warn`; the CLI uses `info`.
 * `HRP_CRON_LOG_LEVEL` overrides the level.
 */
export function consoleLogger(level: LogLevel = "warn"): Logger {
  const env = process.env.HRP_CRON_LOG_LEVEL as LogLevel | undefined;
  const min = LEVELS.indexOf(env && LEVELS.includes(env) ? env : level);
  const out =
    (at: LogLevel, write: (line: string) => void) =>
    (message: string, context?: Record<string, unknown>): void => {
      if (LEVELS.indexOf(at) < min) return;
      const ctx = context && Object.keys(context).length > 0 ? ` ${JSON.stringify(context)}` : "";
      write(`[hrp-cron] ${at} ${message}${ctx}`);
    };
  return {
    debug: out("debug", (l) => console.debug(l)),
    info: out("info", (l) => console.info(l)),
    warn: out("warn", (l) => console.warn(l)),
    error: out("error", (l) => console.error(l)),
  };
}
