import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main, type CliIo } from "../../src/cli";
import { COMMANDS } from "../../src/cli/commands";
import { commonOptions } from "../../src/cli/help";

const VERSION = (JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8")) as { version: string })
  .version;

/** The CLI's entry point with captured output; HRP_CRON_DB points at a file that must never be created. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => out.push(t), err: (t) => err.push(t), stopRequested: new Promise(() => undefined) };
  const code = await main(argv, io);
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("the CLI's help, version and usage errors", () => {
  let dir: string;
  const saved = { db: process.env.HRP_CRON_DB, config: process.env.HRP_CRON_CONFIG };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "hrp-cron-help-"));
    process.env.HRP_CRON_DB = join(dir, "never.sqlite");
    delete process.env.HRP_CRON_CONFIG;
  });
  afterEach(() => {
    expect(existsSync(join(dir, "never.sqlite"))).toBe(false); // help and usage errors open no database
    rmSync(dir, { recursive: true, force: true });
    for (const [key, value] of [
      ["HRP_CRON_DB", saved.db],
      ["HRP_CRON_CONFIG", saved.config],
    ] as const)
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
  });

  it.each([["--help"], ["-h"], ["help"]])("%s lists every command (exit 0)", async (flag) => {
    const { code, out } = await cli(flag);
    expect(code).toBe(0);
    for (const name of Object.keys(COMMANDS)) expect(out).toMatch(new RegExp(`^  ${name} +\\S`, "m"));
    expect(Math.max(...out.split("\n").map((l) => l.length))).toBeLessThanOrEqual(120);
  });

  it("with no command, prints the list and exits 2", async () => {
    const { code, out } = await cli();
    expect([code, out.split("\n")[0]]).toEqual([2, "usage: hrp-cron <command> [options]"]);
  });

  it.each([["--version"], ["-V"], ["version"]])("%s prints the package's version", async (flag) => {
    expect(await cli(flag)).toEqual({ code: 0, out: VERSION, err: "" });
  });

  it.each(Object.keys(COMMANDS))("%s: --help, -h and help COMMAND explain it and every option", async (name) => {
    const help = await cli(name, "--help");
    expect(help.code).toBe(0);
    expect(help.out.split("\n")[0]).toMatch(new RegExp(`^usage: hrp-cron ${name}\\b.*\\[options\\]$`));
    for (const [option, spec] of Object.entries(commonOptions(COMMANDS[name])))
      expect(help.out).toMatch(
        new RegExp(
          `--${option}${spec.type !== "string" ? "" : spec.optionalValue ? "\\[=[A-Z_]+\\]" : " [A-Z_,0-9.]+"}  +\\S`,
        ),
      );
    expect(await cli(name, "-h")).toEqual(help);
    expect(await cli("help", name)).toEqual(help);
  });

  it.each(Object.keys(COMMANDS))(
    "%s refuses an unknown option with one usage line, not the whole help",
    async (name) => {
      const { code, out, err } = await cli(name, "--no-such-option");
      expect([code, out]).toEqual([2, ""]);
      expect(err.split("\n")).toEqual([
        `hrp-cron: unknown option --no-such-option for "${name}"`,
        expect.stringMatching(new RegExp(`^usage: hrp-cron ${name}\\b.*\\("hrp-cron ${name} --help" for more\\)$`)),
      ]);
    },
  );

  it("suggests the nearest command and option", async () => {
    expect((await cli("jbos")).err).toMatch(/^hrp-cron: unknown command "jbos"; did you mean "jobs"\?\n/);
    expect((await cli("job-type")).err).toMatch(/did you mean "job-types"\?/);
    expect((await cli("runs", "--stat", "failed")).err).toMatch(
      /unknown option --stat for "runs"; did you mean --state\?/,
    );
    expect((await cli("purge", "--dryrun")).err).toMatch(/did you mean --dry-run\?/);
    expect((await cli("xyzzy")).err).toMatch(/^hrp-cron: unknown command "xyzzy"\nusage: hrp-cron <command>/);
    expect((await cli("--stat")).code).toBe(2);
  });

  it("says exactly what is wrong with a value, a flag or an argument", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["jobs", "--state"], /option --state needs a value: --state STATE/],
      [["jobs", "--state", "--json"], /option --state needs a value/],
      [["jobs", "--json=yes"], /option --json takes no value \(got "yes"\)/],
      [["jobs", "--limit", "5", "--limit", "6"], /option --limit is given twice/],
      [
        ["jobs", "--state", "done-ish"],
        /--state must be one of pending, running, done, failed, cancelled, stopped, got "done-ish"/,
      ],
      [["runs", "--state", "pending"], /--state must be one of done, failed, interrupted, stopped, got "pending"/],
      [["runs", "--since", "yesterday"], /--since must be an ISO date such as 2026-11-23/],
      [["runs", "--user", "zhang"], /--user must be an integer, got "zhang"/],
      [["jobs", "extra"], /"jobs" takes no arguments, got "extra"/],
      [["job"], /"job" takes exactly one JOB_ID, got 0/],
      [["job", "0"], /JOB_ID must be from 1 to 2147483647, got 0/],
      [["retry", "1", "2"], /"retry" takes exactly one JOB_ID, got 2/],
      [["scheduler", "nap"], /unknown scheduler action "nap"/],
      [["dashboard", "--port", "70000"], /--port must be from 0 to 65535, got 70000/],
      [["worker", "--dashboard=web"], /--dashboard must be an integer, got "web"/],
      [["worker", "--dashboard="], /option --dashboard= needs a value after "=", or leave "=" out/],
      [["purge", "--finished-days", "-1"], /--finished-days must be from 0 to 36500, got -1/],
    ];
    for (const [argv, message] of cases) {
      const result = await cli(...argv);
      expect([argv, result.code]).toEqual([argv, 2]);
      expect(result.err.split("\n")).toHaveLength(2);
      expect(result.err).toMatch(message);
    }
  });

  it("reports an unreachable database and a broken config in one line, without a stack or a password", async () => {
    process.env.HRP_CRON_DB = "postgres://hrp:s3cret@127.0.0.1:1/app";
    const down = await cli("jobs");
    expect(down.code).toBe(1);
    expect(down.err).toBe(
      "hrp-cron: DatabaseConnectError: could not open the database (postgres at 127.0.0.1:1/app): ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1. " +
        "Is the server running, and do HRP_CRON_DB / DATABASE_URL or the config's dataSource point at it?",
    );
    process.env.HRP_CRON_DB = join(dir, "never.sqlite");
    writeFileSync(join(dir, "bad.config.js"), "module.exports = { registry: 5 };");
    const bad = await cli("jobs", "--config", join(dir, "bad.config.js"));
    expect([bad.code, bad.err.split("\n").length]).toEqual([1, 1]);
    expect(bad.err).toMatch(
      /^hrp-cron: ConfigError: config file .*bad\.config\.js: "registry" must be object or function/,
    );
  });
});
