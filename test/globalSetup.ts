import { execFileSync } from "node:child_process";
import { cpSync, rmSync } from "node:fs";
import { join } from "node:path";

/**
 * Child-process tests (real worker processes, the CLI's signal handling) run
 * the compiled JavaScript, so compile once before the suite.
 */
export default function globalSetup(): void {
  const root = join(__dirname, "..");
  // From scratch: a file moved or deleted in src/ must not survive in dist/ (and shadow its replacement).
  rmSync(join(root, "dist"), { recursive: true, force: true });
  execFileSync(
    process.execPath,
    [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "tsconfig.json")],
    { cwd: root, stdio: "inherit" },
  );
  // As `npm run build` does: the dashboard's stylesheet and script ship next to its compiled modules.
  cpSync(join(root, "src", "dashboard", "assets"), join(root, "dist", "src", "dashboard", "assets"), {
    recursive: true,
  });
}
