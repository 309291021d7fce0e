// The store tests must fail when the Valkey store's Lua scripts are loosened: each mutation in
// test/lua-mutations/mutations.ts breaks one rule of the scripts, and the store conformance
// suite or the script checks (test/stores/valkey-script-checks.ts) must then report a failure.
// The suites run in a vitest of their own, on stores whose connection swaps in the mutated
// scripts; the real scripts run there too and must pass everything.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { luaMutations, mutatedScripts, originalScripts } from "./lua-mutations/mutations.ts";

const root = fileURLToPath(new URL("..", import.meta.url));

interface JsonReport {
  readonly testResults: readonly {
    readonly assertionResults: readonly {
      readonly ancestorTitles: readonly string[];
      readonly title: string;
      readonly status: string;
    }[];
  }[];
}

interface Outcome {
  readonly passed: string[];
  readonly failed: string[];
}

/** Runs the suites of `test/lua-mutations/vitest.config.ts`; outcomes by mutation id. */
async function runSuites(): Promise<Map<string, Outcome>> {
  const dir = mkdtempSync(join(tmpdir(), "lua-mutations-"));
  const output = join(dir, "report.json");
  try {
    // The child is a vitest of its own, not a worker of this one.
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith("VITEST")),
    );
    const stderr = await new Promise<string>((resolve) => {
      execFile(
        process.execPath,
        [
          join(root, "node_modules/vitest/vitest.mjs"),
          "run",
          "--config",
          join(root, "test/lua-mutations/vitest.config.ts"),
          "--reporter=json",
          `--outputFile=${output}`,
        ],
        { cwd: root, env, timeout: 150_000, maxBuffer: 64 * 1024 * 1024 },
        // Failing tests are the point: the exit code says nothing here, the report does.
        (_error, _stdout, stderr) => {
          resolve(stderr);
        },
      );
    });
    let report: JsonReport;
    try {
      report = JSON.parse(readFileSync(output, "utf8")) as JsonReport;
    } catch (error) {
      throw new Error(`the mutation suites wrote no report:\n${stderr}`, { cause: error });
    }
    const outcomes = new Map<string, Outcome>();
    for (const file of report.testResults) {
      for (const test of file.assertionResults) {
        const id = /^mutation (.+)$/.exec(test.ancestorTitles[0] ?? "")?.[1];
        if (id === undefined) throw new Error(`unexpected test ${test.title}`);
        const outcome = outcomes.get(id) ?? { passed: [], failed: [] };
        outcomes.set(id, outcome);
        const name = [...test.ancestorTitles.slice(1), test.title].join(" > ");
        (test.status === "passed" ? outcome.passed : outcome.failed).push(name);
      }
    }
    return outcomes;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("Lua script mutations", () => {
  let outcomes: Map<string, Outcome>;
  beforeAll(async () => {
    outcomes = await runSuites();
  }, 180_000);

  it("each apply to the current scripts and change them", () => {
    expect(new Set(luaMutations.map((mutation) => mutation.id)).size).toBe(luaMutations.length);
    for (const mutation of luaMutations) {
      const mutated = mutatedScripts(mutation);
      for (const name of mutation.scripts) {
        expect(mutated.get(name)?.source, mutation.id).not.toBe(originalScripts.get(name)?.source);
      }
    }
  });

  it("leave the real scripts passing every test", () => {
    const control = outcomes.get("none");
    expect(control?.failed).toEqual([]);
    // The conformance suite and the script checks, all of them.
    expect(control?.passed.length).toBeGreaterThan(20);
  });

  it.each(luaMutations)("are caught when $breaks ($id)", (mutation) => {
    const outcome = outcomes.get(mutation.id);
    expect(outcome?.passed.length, "the mutation's suites ran").toBeGreaterThan(0);
    expect(outcome?.failed, "tests failing on the mutated scripts").not.toEqual([]);
  });
});
