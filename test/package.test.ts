// What the npm page and the tarball need from package.json and the README (the tarball itself
// is packed, installed and used by scripts/smoke-tarball.sh, which .ci/run runs).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const root = new URL("../", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), "utf8");
const repository = "https://github.com/idempotent-js/idempotent";

interface PackageJson {
  repository: { url: string };
  homepage: string;
  bugs: { url: string };
  scripts: Record<string, string>;
  files: string[];
  main: string;
  types: string;
  exports: Record<string, string | Record<"import" | "require", Record<string, string>>>;
  typesVersions: Record<string, Record<string, string[]>>;
}

describe("package", () => {
  const pkg = JSON.parse(read("package.json")) as PackageJson;

  it("names one repository for the source, the home page and the issues", () => {
    expect(pkg.repository.url).toBe(`git+${repository}.git`);
    expect(pkg.homepage).toBe(`${repository}#readme`);
    expect(pkg.bugs.url).toBe(`${repository}/issues`);
  });

  it("builds when packed and ships no source maps, whose sources it does not ship", () => {
    expect(pkg.scripts["prepack"]).toBe("npm run build");
    const build = JSON.parse(read("tsconfig.build.json")) as {
      compilerOptions: Record<string, unknown>;
    };
    expect(build.compilerOptions["sourceMap"]).toBe(false);
    expect(build.compilerOptions["declarationMap"]).toBe(false);
    expect(pkg.files).toContain("!dist/**/*.map");
  });

  it("links the README's files absolutely, so the links work on the npm page", () => {
    const relative = [...read("README.md").matchAll(/\]\(((?!https?:|#)[^)\s]+)\)/g)].map(
      (match) => match[1],
    );
    expect(relative).toEqual([]);
    for (const [, link] of read("README.md").matchAll(/\]\((https:\/\/github\.com[^)\s]+)\)/g)) {
      expect(link?.startsWith(`${repository}/`)).toBe(true);
    }
  });

  it("gives every entry point to require() as the same ESM module, with CommonJS types", () => {
    // A `.cjs` that re-exports the `.js` (scripts/build-cjs.js writes it): one module instance.
    for (const [subpath, conditions] of Object.entries(pkg.exports)) {
      if (typeof conditions === "string") continue;
      const { import: esm, require: cjs } = conditions;
      expect(Object.keys(esm)).toEqual(["types", "default"]);
      expect(Object.keys(cjs)).toEqual(["types", "default"]);
      expect(cjs["default"]).toBe(esm["default"]?.replace(/\.js$/, ".cjs"));
      expect(cjs["types"]).toBe(esm["types"]?.replace(/\.d\.ts$/, ".d.cts"));
      // node10 resolution ignores `exports`: `main`/`types` and `typesVersions` stand in.
      if (subpath === ".") {
        expect([pkg.main, pkg.types]).toEqual([cjs["default"], cjs["types"]]);
      } else {
        expect(pkg.typesVersions["*"]?.[subpath.slice(2)]).toEqual([cjs["types"]]);
      }
    }
    expect(pkg.scripts["build"]).toContain("node scripts/build-cjs.js");
    expect(pkg.scripts["check:package"]).not.toContain("--profile");
  });
});
