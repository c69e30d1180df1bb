import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(__dirname, "..", "..");
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

/**
 * What `npm pack` would publish, as npm itself lists it. The suite's global
 * setup has just compiled dist/; `--ignore-scripts` keeps the prepack build
 * from compiling it again under the other tests.
 */
function packedFiles(): string[] {
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const [result] = JSON.parse(out) as Array<{ files: Array<{ path: string }> }>;
  return result.files.map((f) => f.path).sort();
}

describe("the published package", () => {
  let files: string[];
  beforeAll(() => {
    files = packedFiles();
  });

  it("ships the compiled library, its types, the CLI, README and LICENSE, and nothing else", () => {
    expect(files).toEqual(
      expect.arrayContaining([
        "dist/src/index.js",
        "dist/src/index.d.ts",
        "dist/src/cli/bin.js",
        "dist/src/cli/sandboxThread.js",
        "LICENSE",
        "README.md",
        "package.json",
      ]),
    );
    const outside = files.filter((path) => !path.startsWith("dist/src/"));
    expect(outside).toEqual(["LICENSE", "README.md", "package.json"]);
    // In particular not the example app, the ORM config or the tests that dist/ also holds.
    expect(files.filter((path) => /^dist\/(examples|ormconfig|test)/.test(path))).toEqual([]);
  });

  it("ships source maps that carry their sources (the .ts files themselves are not shipped)", () => {
    const maps = files.filter((path) => path.endsWith(".js.map"));
    // The dashboard's browser script is shipped as written (dist/src/dashboard/assets): it is its own source.
    const scripts = files.filter((path) => path.endsWith(".js") && !path.startsWith("dist/src/dashboard/assets/"));
    expect(files.filter((path) => path.startsWith("dist/src/dashboard/assets/")).sort()).toEqual([
      "dist/src/dashboard/assets/dashboard.css",
      "dist/src/dashboard/assets/dashboard.js",
    ]);
    expect(maps.length).toBe(scripts.length);
    for (const script of scripts) {
      const text = readFileSync(join(root, script), "utf8");
      const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(text)?.[1];
      expect(`${script} -> ${url}`).toBe(`${script} -> ${script.split("/").pop()}.map`);
    }
    for (const path of maps) {
      const map = JSON.parse(readFileSync(join(root, path), "utf8")) as {
        sources: string[];
        sourcesContent?: string[];
      };
      expect(map.sourcesContent?.length).toBe(map.sources.length);
      expect(map.sourcesContent!.every((source) => source.length > 0)).toBe(true);
    }
  });

  it("exports the package root, the test helpers (hrp-cron/testing), the NestJS module (hrp-cron/nest), the dashboard (hrp-cron/dashboard) and package.json only, with types", () => {
    expect(manifest.exports).toEqual({
      ".": { types: "./dist/src/index.d.ts", default: "./dist/src/index.js" },
      "./testing": { types: "./dist/src/testing/index.d.ts", default: "./dist/src/testing/index.js" },
      "./nest": { types: "./dist/src/nest/index.d.ts", default: "./dist/src/nest/index.js" },
      "./dashboard": { types: "./dist/src/dashboard/index.d.ts", default: "./dist/src/dashboard/index.js" },
      "./package.json": "./package.json",
    });
    for (const entry of [".", "./testing", "./nest", "./dashboard"]) {
      expect(Object.keys(manifest.exports[entry])[0]).toBe("types"); // conditions match in order: types first
      for (const target of Object.values(manifest.exports[entry]) as string[]) expect(files).toContain(target.slice(2));
    }
    expect(manifest.main).toBe("dist/src/index.js");
    expect(manifest.bin["hrp-cron"]).toBe("dist/src/cli/bin.js");
  });

  it("leaves TypeORM, the database drivers, OpenTelemetry and NestJS to the application (peer dependencies, all optional but TypeORM)", () => {
    const nest = ["@nestjs/common", "@nestjs/core", "@nestjs/typeorm"];
    for (const name of ["typeorm", "pg", "better-sqlite3", "@opentelemetry/api", ...nest])
      expect(manifest.dependencies).not.toHaveProperty(name);
    expect(manifest.peerDependencies).toEqual({
      typeorm: "^0.3.20 || ^1.0.0",
      "better-sqlite3": expect.any(String),
      pg: expect.any(String),
      "@opentelemetry/api": expect.any(String),
      ...Object.fromEntries(nest.map((name) => [name, expect.any(String)])),
    });
    expect(manifest.peerDependenciesMeta).toEqual(
      Object.fromEntries(
        ["better-sqlite3", "pg", "@opentelemetry/api", ...nest].map((name) => [name, { optional: true }]),
      ),
    );
    // The tests use them all.
    for (const name of ["typeorm", "better-sqlite3", "pg", "@opentelemetry/api", ...nest, "@nestjs/testing"])
      expect(manifest.devDependencies).toHaveProperty(name);
  });

  it("ships types that import none of the optional packages (an application without them still type-checks)", () => {
    const declarations = files.filter((path) => path.endsWith(".d.ts"));
    expect(declarations.length).toBeGreaterThan(0);
    // An import statement (not a doc comment's example) or an import() type naming one of them.
    // The web frameworks too: the dashboard's adapters describe what they use of them structurally.
    const optional = `(@opentelemetry/[\\w-]+|prom-client|pg|better-sqlite3|express|fastify|@nestjs/platform-[\\w-]+)`;
    const statement = new RegExp(
      `^\\s*(import|export)\\b[^;]*\\bfrom\\s*["']${optional}["']|import\\(["']${optional}["']\\)`,
      "m",
    );
    const importing = declarations.filter((path) => statement.test(readFileSync(join(root, path), "utf8")));
    expect(importing).toEqual([]);
  });

  it("is MIT licensed, in package.json and in LICENSE", () => {
    expect(manifest.license).toBe("MIT");
    const license = readFileSync(join(root, "LICENSE"), "utf8");
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} hrp-cron contributors\n/);
    expect(manifest.repository.url).toMatch(/^git\+https:\/\//);
    expect(manifest.keywords).toEqual(expect.arrayContaining(["typeorm", "cron", "job-queue"]));
  });
});
