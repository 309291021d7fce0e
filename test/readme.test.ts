import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));

/** The code block that follows `<!-- marker -->` in the README. */
function readmeBlock(marker: string): string {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const match = new RegExp(`<!-- ${marker} -->\\s*\`\`\`ts\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (match?.[1] === undefined) throw new Error(`no ${marker} block in the README`);
  return match[1];
}

/** The package's entry points, as the sources they are built from (seen from a folder in the repository). */
const entryPoints: Record<string, string> = {
  idempotent: "../src/index.ts",
  "idempotent/memory": "../src/stores/memory/index.ts",
  "idempotent/express": "../src/http/express/index.ts",
  "idempotent/fastify": "../src/http/fastify/index.ts",
  "idempotent/hono": "../src/http/hono/index.ts",
  "idempotent/fetch": "../src/http/fetch/index.ts",
  "idempotent/postgres": "../src/stores/postgres/index.ts",
  "idempotent/testing": "../src/testing/index.ts",
};

function withSources(source: string): string {
  return source.replace(/from "(idempotent(?:\/[a-z]+)?)"/g, (whole, entry: string) => {
    const path = entryPoints[entry];
    if (path === undefined) throw new Error(`no source for ${entry}`);
    return `from "${path}"`;
  });
}

/** The HTTP quick start's blocks, one per framework; the application's own `createOrder` is declared. */
const httpBlocks = ["http-express", "http-fastify", "http-hono", "http-fetch"];

/** Other blocks that are compiled, with declarations of the application's values they use. */
const otherBlocks: Record<string, string> = {
  "postgres-store": `declare const key: import("../src/index.ts").IdempotencyKey;
declare const rawBody: string;
declare const id: string;
declare const total: number;`,
  "conformance-suite": `declare const pool: import("pg").Pool;`,
};

describe("README", () => {
  // tsc over the sources and the frameworks' types takes a while on a loaded machine.
  it(
    "compiles and runs the quick example and compiles the HTTP quick start, the PostgreSQL store and the conformance suite, as written",
    {
      timeout: 120_000,
    },
    () => {
      // The temporary folder is in the repository: relative imports reach the sources.
      const directory = mkdtempSync(join(root, ".tmp-readme-"));
      try {
        const file = join(directory, "quick-example.ts");
        writeFileSync(file, `${withSources(readmeBlock("quick-example"))}\nexport {};\n`);
        for (const [marker, declarations] of Object.entries(otherBlocks)) {
          writeFileSync(
            join(directory, `${marker}.ts`),
            `${withSources(readmeBlock(marker))}\n${declarations}\nexport {};\n`,
          );
        }
        for (const marker of httpBlocks) {
          writeFileSync(
            join(directory, `${marker}.ts`),
            `${withSources(readmeBlock(marker))}\ndeclare function createOrder(input: unknown): Promise<{ id: string }>;\nexport {};\n`,
          );
        }
        // They compile under the project's own strict settings, not only run; as application
        // code, their exports need no declarations of their own.
        writeFileSync(
          join(directory, "tsconfig.json"),
          JSON.stringify({
            extends: "../tsconfig.json",
            compilerOptions: {
              isolatedDeclarations: false,
              noPropertyAccessFromIndexSignature: false,
            },
            include: ["*.ts"],
          }),
        );
        try {
          execFileSync(
            process.execPath,
            [join(root, "node_modules/typescript/bin/tsc"), "-p", directory],
            { cwd: root, encoding: "utf8" },
          );
        } catch (error) {
          // tsc prints its diagnostics on stdout: show them, not only the exit code.
          throw new Error(String((error as { stdout?: unknown }).stdout), { cause: error });
        }
        const output = execFileSync(process.execPath, ["--import", "tsx", file], {
          cwd: root,
          encoding: "utf8",
        });
        expect(output.trim()).toBe("applied");
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    },
  );
});
