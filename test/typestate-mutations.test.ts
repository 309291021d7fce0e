// The type tests must fail when the typestate is loosened: each mutation below loosens one
// rule in memory and the compiler must then report an unused @ts-expect-error.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const typeTests = join(root, "test/core/typestate.test-d.ts");

function diagnostics(mutation?: { file: string; from: string; to: string }): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, "tsconfig.json"),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: () => undefined,
    },
  );
  if (config === undefined) throw new Error("cannot read tsconfig.json");
  const host = ts.createCompilerHost(config.options);
  const readFile = host.readFile.bind(host);
  host.readFile = (fileName) => {
    const text = readFile(fileName);
    if (mutation === undefined || fileName !== join(root, mutation.file) || text === undefined) {
      return text;
    }
    if (!text.includes(mutation.from))
      throw new Error(`mutation target missing in ${mutation.file}`);
    return text.replace(mutation.from, mutation.to);
  };
  const program = ts.createProgram([typeTests], config.options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"));
}

const mutations = [
  {
    rule: "a processing entry cannot be stored as completed",
    file: "src/core/idempotency-store.ts",
    from: "entry: IdempotencyEntry<Completed>,",
    to: "entry: IdempotencyEntry,",
  },
  {
    rule: "a completed entry cannot be completed again",
    file: "src/core/idempotency-entry.ts",
    from: "export class CompletedEntry {",
    to: "export class CompletedEntry {\n  complete(response: CachedResponse): CompletedEntry { void response; return this; }",
  },
  {
    rule: "the response of a processing entry cannot be read",
    file: "src/core/idempotency-entry.ts",
    from: "export class ProcessingEntry {",
    to: "export class ProcessingEntry {\n  readonly response?: CachedResponse;",
  },
  {
    rule: "the fencing token needs a narrowed InsertResult",
    file: "src/core/insert-result.ts",
    from: 'readonly kind: "exists";',
    to: 'readonly kind: "exists";\n  readonly fencingToken?: FencingToken;',
  },
  {
    rule: "entries are nominal",
    file: "src/core/idempotency-entry.ts",
    from: "declare private readonly brand: Completed;",
    to: "",
  },
] as const;

describe("type tests", () => {
  it("compile cleanly against the real typestate", () => {
    expect(diagnostics()).toEqual([]);
  }, 60_000);

  it.each(mutations)(
    "fail when the rule breaks: $rule",
    (mutation) => {
      expect(diagnostics(mutation).join("\n")).toContain("Unused '@ts-expect-error' directive");
    },
    60_000,
  );
});
