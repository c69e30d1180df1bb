import { parseArgs as parseNodeArgs } from "node:util";
import { HrpCronError } from "../core/errors";
import { nearest } from "./suggest";

/**
 * Bad command-line usage: the CLI prints the message and one usage line
 * (not the whole help), and exits with code 2. `command` names the command
 * whose usage to show, when one was recognised.
 */
export class UsageError extends HrpCronError {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super("USAGE", message, command === undefined ? {} : { command });
  }
  override get name(): string {
    return "UsageError";
  }
}

/** One option a command takes, for the parser and for its `--help`. */
export interface OptionSpec {
  /** `string` options take a value (`--state failed` or `--state=failed`); `boolean` ones never do. */
  readonly type: "string" | "boolean";
  /** A one-letter alias (`-h`). */
  readonly short?: string;
  /** The value's placeholder in the help (`N`, `ISO_DATE`). @defaultValue `VALUE` */
  readonly value?: string;
  /** One line for `--help`. */
  readonly help: string;
  /**
   * A `string` option whose value may be left out: given only inline
   * (`--dashboard=8788`); alone (`--dashboard`) it is `true`, and the next
   * argument is never taken as its value.
   */
  readonly optionalValue?: boolean;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

export interface ParsedArgs {
  readonly command: string | undefined;
  readonly positionals: string[];
  /** Each option given, by its long name: its value, or `true` for a boolean option. */
  readonly flags: Map<string, string | true>;
}

/**
 * The arguments of `command` (after its name), checked against `specs`
 * with `node:util`'s tokenizer: `--name value`, `--name=value`, `-x`,
 * boolean flags, positionals, and everything after `--` as positionals.
 * @throws UsageError for an unknown option (naming the nearest known one),
 *   a value missing or given to a boolean option, or an option given twice
 */
export function parseCommandArgs(command: string, argv: readonly string[], specs: OptionSpecs): ParsedArgs {
  const options = Object.fromEntries(
    Object.entries(specs).map(([name, spec]) => [
      name,
      // An optional value comes inline only: to the tokenizer the option is a flag (which still reports `=value`).
      { type: spec.optionalValue ? "boolean" : spec.type, ...(spec.short ? { short: spec.short } : {}) },
    ]),
  );
  const { tokens } = parseNodeArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token.kind === "positional") {
      positionals.push(token.value);
      continue;
    }
    if (token.kind === "option-terminator") continue;
    const written = token.rawName;
    const spec = specs[token.name];
    if (!spec) throw new UsageError(unknownOption(command, written, specs), command);
    if (flags.has(token.name)) throw new UsageError(`option --${token.name} is given twice`, command);
    if (spec.optionalValue) {
      if (token.inlineValue && token.value === "")
        throw new UsageError(`option --${token.name}= needs a value after "=", or leave "=" out`, command);
      flags.set(token.name, token.inlineValue && token.value !== undefined ? token.value : true);
      continue;
    }
    if (spec.type === "boolean") {
      if (token.value !== undefined)
        throw new UsageError(`option --${token.name} takes no value (got "${token.value}")`, command);
      flags.set(token.name, true);
      continue;
    }
    // A string option swallows the next argument; one that looks like an option means the value was forgotten.
    if (
      token.value === undefined ||
      (!token.inlineValue && token.value.startsWith("-") && token.value.length > 1 && !/^-\d/.test(token.value))
    )
      throw new UsageError(`option --${token.name} needs a value: --${token.name} ${spec.value ?? "VALUE"}`, command);
    flags.set(token.name, token.value);
  }
  return { command, positionals, flags };
}

function unknownOption(command: string, written: string, specs: OptionSpecs): string {
  const name = written.replace(/^-+/, "");
  const guess = nearest(name, Object.keys(specs));
  return `unknown option ${written} for "${command}"${guess ? `; did you mean --${guess}?` : ""}`;
}

export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const value = args.flags.get(name);
  if (value === true) throw new UsageError(`option --${name} needs a value`, args.command);
  return value;
}

/** An integer flag within [min, max]. */
export function intFlag(args: ParsedArgs, name: string, min: number, max: number): number | undefined {
  const value = stringFlag(args, name);
  return value === undefined ? undefined : toInt(`--${name}`, value, min, max, args.command);
}

/** A date flag: an ISO date or date-time (`2026-11-23`, `2026-11-23T08:00:00Z`). */
export function dateFlag(args: ParsedArgs, name: string): Date | undefined {
  const text = stringFlag(args, name);
  if (text === undefined) return undefined;
  const date = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text) ? new Date(text) : new Date(NaN);
  if (Number.isNaN(date.getTime()))
    throw new UsageError(
      `--${name} must be an ISO date such as 2026-11-23 or 2026-11-23T08:00:00Z, got "${text}"`,
      args.command,
    );
  return date;
}

/** The single positional `ID` of commands such as `run-now ID`. */
export function idArg(args: ParsedArgs, label = "ID"): number {
  if (args.positionals.length !== 1)
    throw new UsageError(`"${args.command}" takes exactly one ${label}, got ${args.positionals.length}`, args.command);
  return toInt(label, args.positionals[0], 1, 2_147_483_647, args.command);
}

/** Refuses positionals for a command that takes none. */
export function noPositionals(args: ParsedArgs): void {
  if (args.positionals.length > 0)
    throw new UsageError(`"${args.command}" takes no arguments, got "${args.positionals.join(" ")}"`, args.command);
}

function toInt(label: string, text: string, min: number, max: number, command: string | undefined): number {
  if (!/^-?\d+$/.test(text)) throw new UsageError(`${label} must be an integer, got "${text}"`, command);
  const value = Number(text);
  if (value < min || value > max) throw new UsageError(`${label} must be from ${min} to ${max}, got ${value}`, command);
  return value;
}
