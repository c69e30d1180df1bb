import type { OptionSpec, OptionSpecs } from "./args";
import type { Command } from "./database";

/** What `--help` prints, for the whole CLI and for each command, and the one usage line shown after an error. */

/** The options every command takes, besides its own. */
export function commonOptions(command: Command): OptionSpecs {
  return {
    ...command.options,
    ...(command.json ? { json: { type: "boolean", help: "print JSON instead of a table (for scripts and jq)" } } : {}),
    config: {
      type: "string",
      value: "FILE",
      help: "config file (default ./hrp-cron.config.js, or HRP_CRON_CONFIG)",
    },
    help: { type: "boolean", short: "h", help: "show this help" },
  } satisfies OptionSpecs;
}

/** `usage: hrp-cron jobs [options]`, with the command's positional arguments. */
export function usageLine(name: string, command: Command): string {
  return `usage: hrp-cron ${name}${command.args ? ` ${command.args}` : ""} [options]`;
}

/** `hrp-cron COMMAND --help`. */
export function commandHelp(name: string, command: Command): string {
  const options = Object.entries(commonOptions(command));
  const labels = options.map(([long, spec]) => optionLabel(long, spec));
  const width = Math.max(...labels.map((l) => l.length));
  return [
    usageLine(name, command),
    "",
    capitalize(command.summary) + (command.summary.endsWith(".") ? "" : "."),
    ...(command.description ? ["", command.description] : []),
    "",
    "Options:",
    ...options.map(([, spec], i) => `  ${labels[i].padEnd(width)}  ${spec.help}`),
    ...(command.examples?.length ? ["", "Examples:", ...command.examples.map((e) => `  ${e}`)] : []),
  ].join("\n");
}

/** `hrp-cron --help`: every command with its summary. */
export function generalHelp(commands: Readonly<Record<string, Command>>): string {
  const names = Object.keys(commands);
  const width = Math.max(...names.map((n) => n.length));
  return [
    "usage: hrp-cron <command> [options]",
    "",
    "Commands:",
    ...names.map((n) => `  ${n.padEnd(width)}  ${commands[n].summary}`),
    "",
    "Options of every command: --config FILE, -h/--help; listings also take --json.",
    '"hrp-cron COMMAND --help" tells more about one command; "hrp-cron --version" prints the version.',
    "",
    "The config file (default ./hrp-cron.config.js, or HRP_CRON_CONFIG) gives the registry and data source;",
    "without one the embedded SQLite database ./hrp-cron.sqlite (or HRP_CRON_DB) is used.",
  ].join("\n");
}

function optionLabel(long: string, spec: OptionSpec): string {
  const value =
    spec.type !== "string" ? "" : spec.optionalValue ? `[=${spec.value ?? "VALUE"}]` : ` ${spec.value ?? "VALUE"}`;
  return `${spec.short ? `-${spec.short}, ` : "    "}--${long}${value}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
