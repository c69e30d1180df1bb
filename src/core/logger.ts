import type { Logger } from "./types";

const LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LEVELS)[number];

/** How {@link consoleLogger} writes a line: `text` (`[hrp-cron] info message {"context":...}`) or `json` (one object per line). */
export type LogFormat = "text" | "json";

/**
 * A console logger printing messages at `level` and above, one line each.
 * `text` (the default): `[hrp-cron] <level> <message> <context as JSON>`;
 * `json`: one JSON object per line, `{"level","time","name":"hrp-cron","msg",...context}`
 * (pino's field names), for log collectors. The library default level is
 * `warn`; the CLI uses `info`. `HRP_CRON_LOG_LEVEL` overrides the level and
 * `HRP_CRON_LOG_FORMAT` (`text` or `json`) the format.
 */
export function consoleLogger(level: LogLevel = "warn", options: { readonly format?: LogFormat } = {}): Logger {
  const env = process.env.HRP_CRON_LOG_LEVEL as LogLevel | undefined;
  const min = LEVELS.indexOf(env && LEVELS.includes(env) ? env : level);
  const envFormat = process.env.HRP_CRON_LOG_FORMAT;
  const format: LogFormat = envFormat === "json" || envFormat === "text" ? envFormat : (options.format ?? "text");
  const out =
    (at: LogLevel, write: (line: string) => void) =>
    (message: string, context?: Record<string, unknown>): void => {
      if (LEVELS.indexOf(at) < min) return;
      if (format === "json") {
        write(jsonLine(at, message, context));
        return;
      }
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

/** One JSON log line; context keys that would hide the line's own fields are kept under `context`. */
function jsonLine(level: LogLevel, msg: string, context: Record<string, unknown> | undefined): string {
  const own = { level, time: new Date().toISOString(), name: "hrp-cron", msg };
  const clash = context && Object.keys(context).some((key) => key in own);
  return JSON.stringify(clash ? { ...own, context } : { ...own, ...context });
}

/** A logger whose methods take `(object, message)`: pino, bunyan. */
export interface ObjectFirstLogger {
  debug(context: object, message: string): void;
  info(context: object, message: string): void;
  warn(context: object, message: string): void;
  error(context: object, message: string): void;
}

/**
 * Adapts a pino (or bunyan) logger, whose methods take the context object
 * first, to hrp-cron's `(message, context)` {@link Logger}: passing pino
 * directly would log the context as the message and drop the rest.
 *
 * ```ts
 * import pino from "pino";
 * new Dispatcher(dataSource, registry, { logger: pinoLogger(pino().child({ component: "hrp-cron" })) });
 * ```
 */
export function pinoLogger(logger: ObjectFirstLogger): Logger {
  return {
    debug: (message, context) => logger.debug(context ?? {}, message),
    info: (message, context) => logger.info(context ?? {}, message),
    warn: (message, context) => logger.warn(context ?? {}, message),
    error: (message, context) => logger.error(context ?? {}, message),
  };
}
