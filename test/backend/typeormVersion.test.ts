import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/** The root folder of the `typeorm` package a resolved file belongs to. */
function packageRoot(file: string): string {
  let dir = dirname(file);
  while (!/[\\/]node_modules[\\/]typeorm$/.test(dir)) dir = dirname(dir);
  return dir;
}

/**
 * The suite runs against the TypeORM `HRP_CRON_TYPEORM_DIR` names (`.ci/run`
 * runs it again on 0.3.x that way), else against the devDependency (1.x),
 * and either is within the range hrp-cron declares as its peer dependency.
 */
describe("the TypeORM under test", () => {
  const loaded = packageRoot(require.resolve("typeorm"));
  const version: string = JSON.parse(readFileSync(join(loaded, "package.json"), "utf8")).version;

  it("is the copy HRP_CRON_TYPEORM_DIR names, else the devDependency", () => {
    const expected = process.env.HRP_CRON_TYPEORM_DIR
      ? resolve(process.env.HRP_CRON_TYPEORM_DIR, "node_modules", "typeorm")
      : resolve(__dirname, "..", "..", "node_modules", "typeorm");
    expect(loaded).toBe(expected);
  });

  it("is within the peer dependency range ^0.3.20 || ^1.0.0", () => {
    const peer = JSON.parse(readFileSync(resolve(__dirname, "..", "..", "package.json"), "utf8")).peerDependencies;
    expect(peer.typeorm).toBe("^0.3.20 || ^1.0.0");
    const [major, minor, patch] = version.split(/[.-]/).map(Number);
    expect({ version, ok: (major === 0 && minor === 3 && patch >= 20) || major === 1 }).toEqual({ version, ok: true });
  });
});
