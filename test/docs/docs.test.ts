import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import * as ts from "typescript";
import { codeBlocks, COMPILER_OPTIONS, docFiles, examples, fileModule, ROOT, snippetModule } from "./markdown";

/** The test files that run the docs' examples and compare their outputs. */
function testSources(): string {
  const dir = join(ROOT, "test", "docs");
  const files = [join(ROOT, "test", "readme.test.ts"), ...readdirSync(dir).filter((f) => f.endsWith(".test.ts")).map((f) => join(dir, f))];
  return files.filter((f) => f !== __filename).map((f) => readFileSync(f, "utf8")).join("\n");
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

function anchorsOf(file: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of withoutFences(readFileSync(file, "utf8")).split("\n")) {
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (!heading) continue;
    const base = slug(heading[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** The markdown without its fenced code blocks. */
function withoutFences(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, "");
}

/** The markdown without code: fenced blocks dropped, inline code blanked out. */
function withoutCode(text: string): string {
  return withoutFences(text).replace(/`[^`\n]*`/g, "``");
}

describe("the documentation", () => {
  it("marks every TypeScript block: run by a test, or a fragment saying why not", () => {
    const unmarked: string[] = [];
    for (const file of docFiles()) {
      for (const block of codeBlocks(file)) {
        if (block.lang !== "ts" && block.lang !== "typescript") continue;
        const marker = block.marker ?? "";
        if (!/^example:/.test(marker) && !/^not executed:\s*\S/.test(marker)) unmarked.push(`${file}:${block.line}`);
      }
    }
    expect(unmarked).toEqual([]);
  });

  it("has a test running every example and comparing every output block", () => {
    const sources = testSources();
    const all = examples();
    expect(all.size).toBeGreaterThan(10);
    const unrun = [...all.keys()].filter((name) => !sources.includes(`"${name}"`));
    expect(unrun).toEqual([]);
    // Output blocks of examples are compared by the example's runner; the others by name.
    const outputs = docFiles().flatMap((file) => codeBlocks(file).filter((b) => b.marker?.startsWith("output:")));
    const unchecked = outputs
      .map((b) => b.marker!.slice("output:".length).trim())
      .filter((name) => !all.has(name) && !sources.includes(`outputBlock("${name}")`));
    expect(unchecked).toEqual([]);
  });

  it("type-checks every example as written against the public API (src/index.ts)", () => {
    const dir = join(ROOT, ".tmp", "docs-examples");
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const files: string[] = [];
    for (const example of examples().values()) {
      const file = join(dir, `${example.name.replace(/\//g, "__")}.ts`);
      writeFileSync(file, example.kind === "file" ? fileModule(example.name, "../../src") : snippetModule(example.name, "../../src", "../../test/docs/givens"));
      files.push(file);
    }
    const program = ts.createProgram(files, { ...COMPILER_OPTIONS, noEmit: true, types: ["node", "jest"] });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file && files.includes(resolve(d.file.fileName)))
      .map((d) => {
        const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
        return `${d.file!.fileName.slice(dir.length + 1)}:${line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
      });
    expect(problems).toEqual([]);
  });

  it("links only to files and headings that exist", () => {
    const broken: string[] = [];
    for (const file of docFiles()) {
      const text = withoutCode(readFileSync(join(ROOT, file), "utf8"));
      for (const [, target] of text.matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
        const [path, anchor] = target.split("#");
        const resolved = path === "" ? join(ROOT, file) : resolve(join(ROOT, dirname(file)), path);
        if (!existsSync(resolved)) broken.push(`${file}: ${target} (no such file)`);
        else if (anchor !== undefined && !anchorsOf(resolved).has(anchor)) broken.push(`${file}: ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("names only test files that exist", () => {
    const missing: string[] = [];
    for (const file of docFiles()) {
      for (const [, path] of readFileSync(join(ROOT, file), "utf8").matchAll(/`(test\/[\w./-]+\.ts)`/g)) {
        if (!existsSync(join(ROOT, path))) missing.push(`${file}: ${path}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
