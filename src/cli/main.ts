import "reflect-metadata";
import { HrpCronError } from "../core/errors";
import { parseCommandArgs, UsageError } from "./args";
import { COMMANDS } from "./commands";
import type { CliIo } from "./database";
import { commandHelp, commonOptions, generalHelp, usageLine } from "./help";
import { loadConfig } from "./loadConfig";
import { nearest } from "./suggest";
import { packageVersion } from "./version";

/**
 * Runs one CLI command and resolves with its exit code: 0 success, 1 a
 * refused or failed operation (an HrpCronError: not found, currently
 * running, invalid state, bad config, database unreachable...: one line,
 * no stack), 2 bad usage (the message and one usage line). Unexpected
 * errors propagate (bin.ts prints them).
 *
 * `hrp-cron`, `hrp-cron -h/--help/help` list the commands;
 * `hrp-cron COMMAND -h/--help` and `hrp-cron help COMMAND` explain one;
 * `hrp-cron --version` (`-V`, `version`) prints the version.
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.out(generalHelp(COMMANDS));
    return 2;
  }
  if (first === "-h" || first === "--help" || (first === "help" && rest.length === 0)) {
    io.out(generalHelp(COMMANDS));
    return 0;
  }
  if (first === "--version" || first === "-V" || first === "version") {
    io.out(packageVersion());
    return 0;
  }
  const name = first === "help" ? rest[0] : first;
  try {
    const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!command) {
      const guess = nearest(name, Object.keys(COMMANDS));
      throw new UsageError(
        name.startsWith("-")
          ? `a command comes first, got the option "${name}"`
          : `unknown command "${name}"${guess ? `; did you mean "${guess}"?` : ""}`,
      );
    }
    if (first === "help") {
      io.out(commandHelp(name, command));
      return 0;
    }
    const args = parseCommandArgs(name, rest, commonOptions(command));
    if (args.flags.has("help")) {
      io.out(commandHelp(name, command));
      return 0;
    }
    const configFlag = args.flags.get("config");
    const config = loadConfig(typeof configFlag === "string" ? configFlag : undefined);
    return await command.run({ args, config, io });
  } catch (error) {
    if (error instanceof UsageError) {
      const command = error.command === undefined ? undefined : COMMANDS[error.command];
      io.err(
        `hrp-cron: ${error.message}\n` +
          (command && error.command
            ? `${usageLine(error.command, command)}  ("hrp-cron ${error.command} --help" for more)`
            : `usage: hrp-cron <command> [options]  ("hrp-cron --help" lists the commands)`),
      );
      return 2;
    }
    if (error instanceof HrpCronError) {
      io.err(`hrp-cron: ${error.name}: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
