// The root entry stays small and documented: at most 45 names, each with TSDoc and an
// `@example`, so a newcomer reads the whole API in one pass.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));

function exportsOf(entry: string): Map<string, ts.Symbol> {
  const program = ts.createProgram([join(root, entry)], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    allowImportingTsExtensions: true,
    noEmit: true,
    strict: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(join(root, entry));
  if (source === undefined) throw new Error(`no ${entry}`);
  const module = checker.getSymbolAtLocation(source);
  if (module === undefined) throw new Error(`${entry} is not a module`);
  const symbols = new Map<string, ts.Symbol>();
  for (const exported of checker.getExportsOfModule(module)) {
    const target =
      exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    symbols.set(exported.name, target);
  }
  return symbols;
}

function hasExample(symbol: ts.Symbol): boolean {
  return (symbol.declarations ?? []).some((declaration) =>
    ts.getJSDocTags(declaration).some((tag) => tag.tagName.text === "example"),
  );
}

describe("the public API", () => {
  const api = exportsOf("src/index.ts");

  it("exposes at most 45 names from the root entry", () => {
    expect(api.size).toBeLessThanOrEqual(45);
  });

  it.each(["src/index.ts", "src/store.ts"])(
    "documents every export of %s with an example",
    (entry) => {
      const missing = [...exportsOf(entry)]
        .filter(([, symbol]) => !hasExample(symbol))
        .map(([name]) => name);
      expect(missing).toEqual([]);
    },
  );
});
