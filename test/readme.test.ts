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

describe("README", () => {
  it("compiles and runs the quick example as written", () => {
    // The temporary folder is in the repository: relative imports reach the sources.
    const source = readmeBlock("quick-example")
      .replace(/from "idempotent"/g, 'from "../src/index.ts"')
      .replace(/from "idempotent\/memory"/g, 'from "../src/stores/memory/index.ts"');
    const directory = mkdtempSync(join(root, ".tmp-readme-"));
    try {
      const file = join(directory, "quick-example.ts");
      writeFileSync(file, `${source}\nexport {};\n`);
      // It compiles under the project's own strict settings, not only runs.
      writeFileSync(
        join(directory, "tsconfig.json"),
        JSON.stringify({ extends: "../tsconfig.json", include: ["quick-example.ts"] }),
      );
      execFileSync(
        process.execPath,
        [join(root, "node_modules/typescript/bin/tsc"), "-p", directory],
        { cwd: root, encoding: "utf8" },
      );
      const output = execFileSync(process.execPath, ["--import", "tsx", file], {
        cwd: root,
        encoding: "utf8",
      });
      expect(output.trim()).toBe("applied");
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
