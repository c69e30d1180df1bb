import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import * as ts from "typescript";

/**
 * The code blocks of the user documentation (README.md and docs/*.md) and the
 * markers that say what happens to each TypeScript block:
 *
 * - `<!-- example: NAME -->` on the line before a ```ts block: a test runs it.
 *   A *snippet*: its statements run inside an async function, with the names
 *   the guides say are given (`dataSource`, `Application`, `console`; see
 *   `givens.ts`) when it does not declare them itself.
 * - `<!-- example: NAME continues OTHER -->`: a snippet that runs after the
 *   snippet OTHER (and what OTHER continues), in one scope, on a fresh database.
 * - `<!-- example: NAME (file) -->`: a whole file (a program, a config file),
 *   compiled as it is; its test runs it in a child process.
 * - `<!-- output: NAME -->` on the line before a ```text block: what example
 *   NAME prints; its test compares.
 * - `<!-- not executed: REASON -->`: a fragment (option list, signature); no test runs it.
 */

export const ROOT = join(__dirname, "..", "..");

export interface CodeBlock {
  /** Path relative to the repository root. */
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly lang: string;
  readonly code: string;
  /** The HTML comment on the line before the fence, without `<!--`/`-->`, or null. */
  readonly marker: string | null;
}

export interface Example {
  readonly name: string;
  readonly kind: "snippet" | "file";
  readonly continues: string | null;
  readonly code: string;
  readonly file: string;
  readonly line: number;
  /** The `<!-- output: NAME -->` block, if the docs show what it prints. */
  readonly output: string | null;
}

/** README.md and every docs/*.md, relative to the root. */
export function docFiles(): string[] {
  const docs = readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => join("docs", f));
  return ["README.md", ...docs.sort()];
}

export function codeBlocks(file: string): CodeBlock[] {
  const lines = readFileSync(join(ROOT, file), "utf8").split("\n");
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
    if (end < 0) throw new Error(`${file}:${i + 1}: code block is never closed`);
    const comment = /^<!--\s*(.*?)\s*-->\s*$/.exec(lines[i - 1] ?? "");
    blocks.push({ file, line: i + 1, lang: open[1], code: lines.slice(i + 1, end).join("\n") + "\n", marker: comment ? comment[1] : null });
    i = end;
  }
  return blocks;
}

const EXAMPLE_MARKER = /^example:\s*([\w./-]+)(?:\s+continues\s+([\w./-]+))?(\s+\(file\))?$/;

/** Every example of the docs, by name. Throws on a malformed or duplicate marker. */
export function examples(): Map<string, Example> {
  const found = new Map<string, Example>();
  const outputs = new Map<string, string>();
  for (const file of docFiles()) {
    for (const block of codeBlocks(file)) {
      const where = `${block.file}:${block.line}`;
      if (block.marker?.startsWith("output:")) {
        outputs.set(block.marker.slice("output:".length).trim(), block.code);
        continue;
      }
      if (!block.marker?.startsWith("example:")) continue;
      const m = EXAMPLE_MARKER.exec(block.marker);
      if (!m) throw new Error(`${where}: malformed marker <!-- ${block.marker} -->`);
      if (found.has(m[1])) throw new Error(`${where}: example ${m[1]} is defined twice`);
      found.set(m[1], { name: m[1], kind: m[3] ? "file" : "snippet", continues: m[2] ?? null, code: block.code, file: block.file, line: block.line, output: null });
    }
  }
  for (const [name, text] of outputs) {
    const example = found.get(name);
    if (example) found.set(name, { ...example, output: text });
  }
  return found;
}

/** The ```text block after `<!-- output: NAME -->` (what a command prints, quoted in the docs). */
export function outputBlock(name: string): string {
  for (const file of docFiles()) {
    const block = codeBlocks(file).find((b) => b.marker === `output: ${name}`);
    if (block) return block.code;
  }
  throw new Error(`no <!-- output: ${name} --> block in the docs`);
}

/** The example and the snippets it continues, first one first. */
function chain(all: Map<string, Example>, name: string): Example[] {
  const out: Example[] = [];
  for (let at: string | null = name; at !== null; ) {
    const example = all.get(at);
    if (!example) throw new Error(`no example named ${at} in the docs`);
    if (out.includes(example)) throw new Error(`example ${name} continues itself`);
    if (example.kind !== "snippet") throw new Error(`example ${at} is a file; only snippets run in chains`);
    out.unshift(example);
    at = example.continues;
  }
  return out;
}

/** Names the docs say a snippet is given. */
export const GIVEN_NAMES = ["dataSource", "Application", "AccountMove", "console"] as const;

/**
 * One TypeScript module for a snippet chain: its imports (merged, with
 * `"hrp-cron"` replaced by `hrpCron`, and its subpaths such as `"hrp-cron/testing"` by `hrpCron`'s), then `export async function run(givens)`
 * holding the statements, which returns the snippets' top-level names.
 */
export function snippetModule(name: string, hrpCron: string, givens: string): string {
  const parts = chain(examples(), name);
  const named = new Map<string, Set<string>>();
  const other = new Set<string>();
  const body: string[] = [];
  const declared = new Set<string>();
  for (const part of parts) {
    const source = ts.createSourceFile(`${part.name}.ts`, part.code, ts.ScriptTarget.ES2022, true);
    const statements: string[] = [];
    for (const statement of source.statements) {
      if (ts.isImportDeclaration(statement)) {
        const spec = (statement.moduleSpecifier as ts.StringLiteral).text;
        const target = libraryPath(spec, hrpCron);
        const bindings = statement.importClause?.namedBindings;
        if (statement.importClause && !statement.importClause.name && bindings && ts.isNamedImports(bindings)) {
          const set = named.get(target) ?? new Set<string>();
          const typeOnly = statement.importClause.isTypeOnly;
          for (const el of bindings.elements) set.add(`${typeOnly && !el.isTypeOnly ? "type " : ""}${el.getText(source)}`);
          named.set(target, set);
        } else {
          other.add(statement.getText(source).replace(/(["'])(hrp-cron(?:\/[\w-]+)?)\1/, (_m, _q, spec: string) => JSON.stringify(libraryPath(spec, hrpCron))));
        }
        continue;
      }
      for (const id of declaredNames(statement)) declared.add(id);
      statements.push(statement.getFullText(source));
    }
    body.push(`  // ${part.file}:${part.line} (${part.name})`, statements.join("").replace(/^\n+/, ""));
  }
  const imports = [
    ...other,
    ...[...named].map(([spec, names]) => `import { ${[...names].join(", ")} } from ${JSON.stringify(spec)};`),
    `import type { DocGivens } from ${JSON.stringify(givens)};`,
  ];
  const given = GIVEN_NAMES.filter((g) => !declared.has(g));
  return [
    ...imports,
    "",
    "export async function run(__givens: DocGivens): Promise<Record<string, unknown>> {",
    `  const { ${given.join(", ")} } = __givens;`,
    ...body,
    `  return { ${[...declared].join(", ")} };`,
    "}",
    "",
  ].join("\n");
}

/**
 * `spec` with the package's name replaced by `hrpCron`: a subpath
 * (`hrp-cron/testing`, `hrp-cron/nest`) beside it (`../../src` →
 * `../../src/nest`, `dist/src/index.js` → `dist/src/nest/index.js`);
 * other modules as they are.
 */
export function libraryPath(spec: string, hrpCron: string): string {
  if (spec === "hrp-cron") return hrpCron;
  if (!spec.startsWith("hrp-cron/")) return spec;
  const sub = spec.slice("hrp-cron/".length);
  return /[/\\]index\.js$/.test(hrpCron) ? hrpCron.replace(/index\.js$/, `${sub}/index.js`) : `${hrpCron}/${sub}`;
}

/** A file example as it would be written to disk, with `"hrp-cron"` imports (and its subpaths) pointing at `hrpCron`. */
export function fileModule(name: string, hrpCron: string): string {
  const example = examples().get(name);
  if (!example) throw new Error(`no example named ${name} in the docs`);
  if (example.kind !== "file") throw new Error(`example ${name} is a snippet, not a file`);
  return example.code.replace(/from (["'])(hrp-cron(?:\/[\w-]+)?)\1/g, (_m, _q, spec: string) => `from ${JSON.stringify(libraryPath(spec, hrpCron))}`);
}

/** Top-level names a statement declares (variables, functions, classes). */
function declaredNames(statement: ts.Statement): string[] {
  if (ts.isVariableStatement(statement)) return statement.declarationList.declarations.flatMap((d) => bindingNames(d.name));
  if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name) return [statement.name.text];
  return [];
}

function bindingNames(name: ts.BindingName): string[] {
  if (ts.isIdentifier(name)) return [name.text];
  return name.elements.flatMap((e) => (ts.isOmittedExpression(e) ? [] : bindingNames(e.name)));
}

/** Compiler options the examples are checked and run with (those of the project). */
export const COMPILER_OPTIONS: ts.CompilerOptions = {
  strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10,
  esModuleInterop: true, experimentalDecorators: true, emitDecoratorMetadata: true, skipLibCheck: true, types: ["node"],
};

/** Compiles TypeScript to CommonJS without type checking (the docs test checks types once for all examples). */
export function transpile(source: string): string {
  return ts.transpileModule(source, { compilerOptions: COMPILER_OPTIONS }).outputText;
}

/** `path` relative to the root, for messages. */
export function rel(path: string): string {
  return relative(ROOT, path);
}
