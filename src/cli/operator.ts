import { hostname, userInfo } from "node:os";
import type { OperatorContext } from "../core/operator";
import { stringFlag, UsageError, type OptionSpecs, type ParsedArgs } from "./args";

/** The options of the commands that change something: who does it, and why (the operator action log). */
export const OPERATOR_OPTIONS: OptionSpecs = {
  by: {
    type: "string",
    value: "LOGIN",
    help: "who does this, for the action log (default HRP_CRON_OPERATOR, else your OS user@host)",
  },
  reason: { type: "string", value: "TEXT", help: "why, for the action log" },
};

/**
 * The operator of a CLI command, from `--by` (else `HRP_CRON_OPERATOR`,
 * else the OS user at this host) and `--reason`, which `reasonRequired`
 * commands (cancel, stop, purge, deactivate: they destroy or stop work)
 * refuse to run without.
 * @throws UsageError when a required reason is missing
 */
export function cliOperator(args: ParsedArgs, reasonRequired: boolean, env = process.env): OperatorContext {
  const reason = stringFlag(args, "reason");
  if (reasonRequired && (reason === undefined || reason.trim() === ""))
    throw new UsageError(
      `"${args.command}" needs --reason TEXT: it is recorded with the action in the operator action log (hrp-cron actions)`,
      args.command,
    );
  return { by: stringFlag(args, "by") ?? env.HRP_CRON_OPERATOR ?? defaultLogin(), source: "cli", reason };
}

function defaultLogin(): string {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return `unknown@${hostname()}`;
  }
}
