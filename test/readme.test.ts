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
  it("runs the quick example as written", () => {
    const source = readmeBlock("quick-example")
      .replace(/from "idempotent"/g, `from ${JSON.stringify(join(root, "src/index.ts"))}`)
      .replace(
        /from "idempotent\/memory"/g,
        `from ${JSON.stringify(join(root, "src/stores/memory/index.ts"))}`,
      );
    const directory = mkdtempSync(join(root, ".tmp-readme-"));
    try {
      const file = join(directory, "quick-example.ts");
      writeFileSync(file, source);
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
