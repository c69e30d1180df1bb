import "reflect-metadata";
import { HrpCronError } from "../core/errors";
import { parseArgs, UsageError } from "./args";
import { checkFlags, COMMANDS, usage } from "./commands";
import type { CliIo } from "./database";
import { loadConfig } from "./loadConfig";

const BOOLEAN_FLAGS: ReadonlySet<string> = new Set(["burst", "help", "sandbox", "no-scheduler"]);

/**
 * Runs one CLI command and resolves with its exit code: 0 success, 1 a
 * refused or failed operation (an HrpCronError: not found, currently
 * running, invalid state...), 2 bad usage. Unexpected errors propagate.
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const args = parseArgs(argv, BOOLEAN_FLAGS);
    if (args.command === undefined || args.command === "help" || args.flags.has("help")) {
      io.out(usage());
      return args.command === undefined && !args.flags.has("help") ? 2 : 0;
    }
    const command = COMMANDS[args.command];
    if (!command) throw new UsageError(`unknown command "${args.command}"`);
    checkFlags(args, command);
    const configFlag = args.flags.get("config");
    const config = loadConfig(typeof configFlag === "string" ? configFlag : undefined);
    return await command.run({ args, config, io });
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`hrp-cron: ${error.message}\n\n${usage()}`);
      return 2;
    }
    if (error instanceof HrpCronError) {
      io.err(`hrp-cron: ${error.name}: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
