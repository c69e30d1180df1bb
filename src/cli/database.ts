import type { DataSource } from "typeorm";
import { HrpCronJobService } from "../api/automatedTasks";
import { JobAdmin } from "../api/jobAdmin";
import type { ModelRegistry } from "../core/registry";
import { migrate } from "../schema/migrate";
import type { OptionSpecs, ParsedArgs } from "./args";
import type { HrpCronConfig } from "./config";
import { openDataSource, openRegistry, sharedOptions } from "./loadConfig";
import { withExistingDatabase } from "./readOnly";

/** Where a command writes, and how the worker learns it should stop. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Resolves when the user asks the worker to stop (SIGINT/SIGTERM in the real CLI). */
  stopRequested: Promise<void>;
}

export interface CommandContext {
  readonly args: ParsedArgs;
  readonly config: HrpCronConfig;
  readonly io: CliIo;
}

/** One CLI command: what `--help` says about it, what it accepts, and what it does. */
export type Command = {
  /** One line, for the command list of `hrp-cron --help`. */
  readonly summary: string;
  /** Its positional arguments in the usage line (`JOB_ID`, `[pause|resume|...]`). */
  readonly args?: string;
  /** More about it, for `hrp-cron COMMAND --help` (plain text, wrapped by hand). */
  readonly description?: string;
  /** Its own options; `--config`, `-h/--help` (and `--json` when `json`) are added to every command. */
  readonly options: OptionSpecs;
  /** Whether it prints JSON instead of a table with `--json`. */
  readonly json?: boolean;
  /** Example command lines for its `--help`. */
  readonly examples?: readonly string[];
  run(ctx: CommandContext): Promise<number>;
};

/** `data` as `--json` asks (indented JSON), else as `text` renders it for people (`text` is not called for JSON). */
export async function output<T>(
  ctx: CommandContext,
  data: T,
  text: (data: T) => string | Promise<string>,
): Promise<string> {
  return ctx.args.flags.has("json") ? JSON.stringify(data, null, 2) : text(data);
}

/**
 * Opens the database (with `open`: the worker waits for an unreachable one),
 * migrates it and runs the config's setup, then `work`; always closes.
 */
export async function withDatabase<T>(
  config: HrpCronConfig,
  work: (ds: DataSource, service: HrpCronJobService, registry: ModelRegistry) => Promise<T>,
  open: (config: HrpCronConfig) => Promise<DataSource> = openDataSource,
): Promise<T> {
  const dataSource = await open(config);
  try {
    await migrate(dataSource, { usersTable: !config.userResolver }); // an app with its own users gets no res_users
    const registry = await openRegistry(config);
    const service = new HrpCronJobService(dataSource, sharedOptions(config, registry));
    if (config.setup) await config.setup({ dataSource, registry, service });
    return await work(dataSource, service, registry);
  } finally {
    // A job abandoned at stop may keep a connection busy; do not let it hold the exit.
    if (dataSource.isInitialized)
      await Promise.race([dataSource.destroy(), new Promise((r) => setTimeout(r, 5_000).unref())]);
  }
}

/** What a command's work gets: the open database and the objects on it. */
export interface OpenDatabase {
  readonly dataSource: DataSource;
  /** The config's registry (empty when it names none). */
  readonly registry: ModelRegistry;
  readonly service: HrpCronJobService;
  /** Retry, cancel, stop, purge, stats, listings: no registry needed. */
  readonly admin: JobAdmin;
}

/**
 * The one shape of most commands: open the database, run `work`, print
 * what it returns, close; exit code 0 (failures: see `main`). `"read"`
 * opens the existing, migrated database only (never migrates, never runs
 * the config's `setup`, never creates a file: see `withExistingDatabase`);
 * `"write"` migrates and runs `setup` first (`withDatabase`).
 */
export async function openRunPrint(
  ctx: CommandContext,
  access: "read" | "write",
  work: (db: OpenDatabase) => Promise<string>,
): Promise<number> {
  const open = access === "read" ? withExistingDatabase : withDatabase;
  return open(ctx.config, async (dataSource, service, registry) => {
    const admin = new JobAdmin(dataSource, { userResolver: ctx.config.userResolver });
    ctx.io.out(await work({ dataSource, service, registry, admin }));
    return 0;
  });
}
