// The pretest hook on machines that lack the servers: a PATH holding only a shell stands in
// for a fresh machine (the whole fresh-machine run is described in the README's Testing part).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const script = join(root, "scripts/setup-test-machine.sh");
const directories: string[] = [];

afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true });
});

/** A bin folder with bash, sort and the given fake commands (name → shell body). */
function binWith(fakes: Record<string, string>): string {
  const bin = mkdtempSync(join(tmpdir(), "idempotent-setup-"));
  directories.push(bin);
  symlinkSync("/bin/bash", join(bin, "bash"));
  symlinkSync("/usr/bin/sort", join(bin, "sort"));
  for (const [name, body] of Object.entries(fakes)) {
    writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
  }
  return bin;
}

function setup(bin: string, env: Record<string, string> = {}) {
  return spawnSync(join(bin, "bash"), [script], {
    cwd: root,
    env: { PATH: bin, ...env },
    encoding: "utf8",
  });
}

describe("scripts/setup-test-machine.sh", () => {
  it("returns at once, silently, when everything is there", () => {
    const started = Date.now();
    const result = spawnSync("bash", [script], { cwd: root, encoding: "utf8" });
    expect(result.status).toBe(0);
    expect(result.stderr).toBe("");
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("names the exact command when it is not root", () => {
    const bin = binWith({ id: "echo 1000", "apt-get": "echo apt-get must not run >&2; exit 9" });
    const result = setup(bin);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /^setup-test-machine: missing redis-server redis-cli xxhsum .*valkey-server valkey-cli; run: sudo bash scripts\/setup-test-machine.sh\n$/,
    );
  });

  it("points elsewhere to the package manager when there is no apt-get", () => {
    const result = setup(binWith({ id: "echo 0" }));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("install them with your package manager");
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("can be switched off for a machine set up another way", () => {
    const result = setup(binWith({}), { IDEMPOTENT_SKIP_TEST_SETUP: "1" });
    expect(result.status).toBe(0);
  });
});
