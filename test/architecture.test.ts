import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import * as ts from "typescript";

/**
 * The layout rules of docs/ARCHITECTURE.md ("Layers"), checked on the
 * sources: every import goes down (or stays in its layer), SQL statement
 * text lives only in src/store/, src/backend/ and src/schema/, and no module
 * keeps mutable state at its top level outside the backend's per-DataSource
 * cache. Pure source checks: no database, so it runs once, not per backend.
 */

const SRC = join(__dirname, "..", "src");

/** Layers from the bottom up; a file may import its own layer and those below. Layers of one rank never import each other. */
const LAYERS: Readonly<Record<string, number>> = {
  core: 0,
  scheduling: 1,
  backend: 2,
  schema: 3,
  store: 4,
  api: 5,
  worker: 5,
  scheduler: 6,
  observe: 7,
  dashboard: 8,
  cli: 9,
  testing: 9,
  nest: 9,
};

/** Where SQL statement text may appear. */
const SQL_LAYERS: ReadonlySet<string> = new Set(["store", "backend", "schema"]);

/**
 * The only module-level mutable state allowed, and why:
 * - the backend's per-DataSource cache (one backend and one set of process-local objects per DataSource);
 * - the ambient user of `runAsUser` (public API: callers pass no object; an AsyncLocalStorage keeps it per async context).
 */
const STATE_ALLOWED: ReadonlySet<string> = new Set(["backend/index.ts", "core/context.ts"]);

/**
 * Module-level arrays that are public API and keep a mutable array type on
 * purpose: `ENTITIES` is spread into or passed as TypeORM's `entities`
 * option, whose type is a mutable array. Nothing in hrp-cron writes them.
 */
const PUBLIC_ARRAYS: ReadonlySet<string> = new Set(["schema/entities/index.ts: ENTITIES"]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

const FILES = sourceFiles(SRC);
const parsed = new Map(
  FILES.map((file) => [file, ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true)]),
);

/** `core`, `store`, ... for a file under src/ (`index` for src/index.ts, which may import anything). */
function layerOf(file: string): string {
  const rel = relative(SRC, file);
  return rel.includes("/") ? rel.split("/")[0] : "index";
}

function rankOf(layer: string): number {
  return layer === "index" ? Number.POSITIVE_INFINITY : LAYERS[layer];
}

/** Relative module specifiers of a file: imports, re-exports, `import()` and `require()`. */
function importsOf(source: ts.SourceFile): string[] {
  return specifiersOf(source).filter((s) => s.startsWith("."));
}

/** Every module specifier of a file (packages too): imports, re-exports, `import()` and `require()`. */
function specifiersOf(source: ts.SourceFile): string[] {
  const specs: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      specs.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isStringLiteral(node.arguments[0])) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === "require"))
        specs.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specs;
}

function resolveImport(from: string, spec: string): string {
  const base = resolve(dirname(from), spec);
  for (const candidate of [`${base}.ts`, join(base, "index.ts"), base]) if (parsed.has(candidate)) return candidate;
  throw new Error(`${relative(SRC, from)}: cannot resolve ${spec}`);
}

describe("architecture", () => {
  it("every file of src/ lies in a known layer", () => {
    const unknown = FILES.map(layerOf).filter((layer) => layer !== "index" && LAYERS[layer] === undefined);
    expect(unknown).toEqual([]);
  });

  it("imports only go down the layers (core -> scheduling -> backend -> schema -> store -> api | worker -> scheduler -> observe -> cli | testing | nest)", () => {
    const violations: string[] = [];
    for (const [file, source] of parsed) {
      const from = layerOf(file);
      for (const spec of importsOf(source)) {
        const to = layerOf(resolveImport(file, spec));
        if (from === to) continue;
        if (rankOf(to) > rankOf(from) || (rankOf(to) === rankOf(from) && from !== to))
          violations.push(`${relative(SRC, file)} (${from}) imports ${spec} (${to})`);
      }
    }
    expect(violations).toEqual([]);
  });

  it("no import cycles between files", () => {
    const graph = new Map(
      [...parsed].map(([file, source]) => [file, importsOf(source).map((spec) => resolveImport(file, spec))]),
    );
    const cycles: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const stack: string[] = [];
    const visit = (file: string): void => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "visiting") {
        cycles.push([...stack.slice(stack.indexOf(file)), file].map((f) => relative(SRC, f)).join(" -> "));
        return;
      }
      state.set(file, "visiting");
      stack.push(file);
      for (const next of graph.get(file) ?? []) visit(next);
      stack.pop();
      state.set(file, "done");
    };
    for (const file of graph.keys()) visit(file);
    expect(cycles).toEqual([]);
  });

  it("the main entry (src/index.ts) never loads NestJS: only the hrp-cron/nest subpath does", () => {
    const graph = new Map(
      [...parsed].map(([file, source]) => [file, importsOf(source).map((spec) => resolveImport(file, spec))]),
    );
    const reached = new Set<string>();
    const visit = (file: string): void => {
      if (reached.has(file)) return;
      reached.add(file);
      for (const next of graph.get(file) ?? []) visit(next);
    };
    visit(join(SRC, "index.ts"));
    const nest = [...reached].filter(
      (file) => layerOf(file) === "nest" || specifiersOf(parsed.get(file)!).some((spec) => spec.startsWith("@nestjs/")),
    );
    expect(nest.map((file) => relative(SRC, file))).toEqual([]);
  });

  it("SQL statement text appears only in src/store/, src/backend/ and src/schema/", () => {
    const statement = /\b(SELECT\b[\s\S]*\bFROM\b|INSERT\s+INTO\b|UPDATE\s+\w+\s+SET\b|DELETE\s+FROM\b)/i;
    const violations: string[] = [];
    for (const [file, source] of parsed) {
      if (SQL_LAYERS.has(layerOf(file))) continue;
      const visit = (node: ts.Node): void => {
        if (
          (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateExpression(node)) &&
          statement.test(node.getText(source))
        ) {
          violations.push(
            `${relative(SRC, file)}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`,
          );
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    expect(violations).toEqual([]);
  });

  it("no module-level mutable state (let, var, Map, Set, WeakMap, arrays...) outside the backend's per-DataSource cache", () => {
    const mutable = /^new (Map|Set|WeakMap|WeakSet|AsyncLocalStorage|EventEmitter)\b/;
    const violations: string[] = [];
    for (const [file, source] of parsed) {
      if (STATE_ALLOWED.has(relative(SRC, file))) continue;
      for (const statement of source.statements) {
        if (!ts.isVariableStatement(statement)) continue;
        const constant = (statement.declarationList.flags & ts.NodeFlags.Const) !== 0;
        for (const declaration of statement.declarationList.declarations) {
          const where = `${relative(SRC, file)}: ${declaration.name.getText(source)}`;
          if (!constant) {
            violations.push(`${where} (let/var)`);
            continue;
          }
          const type = declaration.type?.getText(source) ?? "";
          const init = declaration.initializer;
          if (!init || /^(Readonly|readonly )/.test(type)) continue;
          if (mutable.test(init.getText(source))) violations.push(`${where} (${init.getText(source).split("(")[0]})`);
          if (ts.isArrayLiteralExpression(init) && !PUBLIC_ARRAYS.has(where))
            violations.push(`${where} (array: make it readonly, or "as const")`);
        }
      }
    }
    expect(violations).toEqual([]);
  });
});
