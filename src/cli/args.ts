import { HrpCronError } from "../core/errors";

/** Bad command-line usage: the CLI prints the message and the usage, and exits with code 2. */
export class UsageError extends HrpCronError {
  constructor(message: string) {
    super("USAGE", message, {});
  }
}

export interface ParsedArgs {
  readonly command: string | undefined;
  readonly positionals: string[];
  readonly flags: Map<string, string | true>;
}

/** `--name value`, `--name=value` and bare `--flag`; `booleans` never take a value. */
export function parseArgs(argv: readonly string[], booleans: ReadonlySet<string>): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("--")) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (name === "") throw new UsageError(`empty option "${arg}"`);
    if (eq !== -1) flags.set(name, arg.slice(eq + 1));
    else if (booleans.has(name)) flags.set(name, true);
    else {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith("--")) throw new UsageError(`option --${name} needs a value`);
      flags.set(name, value);
      i++;
    }
  }
  const [command, ...rest] = positionals;
  return { command, positionals: rest, flags };
}

/** Throws UsageError for flags the command does not know. */
export function allowFlags(args: ParsedArgs, allowed: readonly string[]): void {
  for (const name of args.flags.keys()) {
    if (!allowed.includes(name))
      throw new UsageError(
        `unknown option --${name} for "${args.command}"; allowed: ${allowed.map((a) => `--${a}`).join(", ") || "none"}`,
      );
  }
}

export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const value = args.flags.get(name);
  if (value === true) throw new UsageError(`option --${name} needs a value`);
  return value;
}

/** A positive integer flag within [min, max]. */
export function intFlag(args: ParsedArgs, name: string, min: number, max: number): number | undefined {
  const value = stringFlag(args, name);
  return value === undefined ? undefined : toInt(`--${name}`, value, min, max);
}

/** The single positional `ID` of commands such as `run-now ID`. */
export function idArg(args: ParsedArgs, label = "ID"): number {
  if (args.positionals.length !== 1)
    throw new UsageError(`"${args.command}" takes exactly one ${label}, got ${args.positionals.length}`);
  return toInt(label, args.positionals[0], 1, 2_147_483_647);
}

function toInt(label: string, text: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(text)) throw new UsageError(`${label} must be an integer, got "${text}"`);
  const value = Number(text);
  if (value < min || value > max) throw new UsageError(`${label} must be from ${min} to ${max}, got ${value}`);
  return value;
}
