import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import * as ts from "typescript";

const ROOT = join(__dirname, "..");

/** The README's main usage example: the first ```ts block under "## Usage". */
function usageExample(): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Usage"));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error("README has no ```ts block under ## Usage");
  return match[1];
}

describe("README usage example", () => {
  it("type-checks as written against the library", () => {
    const dir = join(ROOT, ".tmp", "readme");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "quickstart.ts");
    writeFileSync(file, usageExample().replace(`from "hrp-cron"`, `from "../../src"`));
    const program = ts.createProgram([file], {
      strict: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS,
      esModuleInterop: true,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      skipLibCheck: true,
      noEmit: true,
      types: ["node"],
    });
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    expect(diagnostics).toEqual([]);
  });

  it("runs as pasted: the job runs as the approving user and the worker stops on SIGINT", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hrp-cron-readme-"));
    try {
      const source = usageExample()
        .replace(`from "hrp-cron"`, `from ${JSON.stringify(join(ROOT, "dist", "src"))}`)
        .replace("Date.now() + 30_000", "Date.now() + 300"); // do not make the test wait 30 s
      const js = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
      }).outputText;
      writeFileSync(join(dir, "quickstart.js"), js);
      const child = spawn(process.execPath, ["quickstart.js"], {
        cwd: dir,
        env: { ...process.env, NODE_PATH: join(ROOT, "node_modules") },
      });
      let output = "";
      child.stdout.on("data", (d: Buffer) => (output += d.toString()));
      child.stderr.on("data", (d: Buffer) => (output += d.toString()));
      const deadline = Date.now() + 30_000;
      while (!/creating account moves for 12, 13 as user 1/.test(output) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      expect(output).toMatch(/creating account moves for 12, 13 as user 1/);
      // The job's completion commits right after the method returns.
      let state = "";
      while (state !== "done" && Date.now() < deadline) {
        const db = new Database(join(dir, "quickstart.sqlite"), { readonly: true });
        state =
          (db.prepare("SELECT state FROM hrp_cron_job WHERE id = 1").get() as { state: string } | undefined)?.state ??
          "";
        db.close();
        if (state !== "done") await new Promise((r) => setTimeout(r, 50));
      }
      expect(state).toBe("done");
      child.kill("SIGINT");
      expect(await new Promise((resolve) => child.on("exit", resolve))).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
