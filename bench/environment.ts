import { readFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);

/** Version of an installed package, read from its package.json. */
export function packageVersion(name: string): string {
  // Some packages do not export their package.json; read it from node_modules then.
  const candidates = [
    () => require.resolve(`${name}/package.json`),
    () => fileURLToPath(new URL(`../node_modules/${name}/package.json`, import.meta.url)),
  ];
  for (const candidate of candidates) {
    try {
      return (JSON.parse(readFileSync(candidate(), "utf8")) as { version: string }).version;
    } catch {
      // try the next location
    }
  }
  return "not installed";
}

/** A markdown paragraph naming the machine, Node.js and the given packages. */
export function describeEnvironment(packages: readonly string[] = []): string {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const lines = [
    `- Date: ${new Date().toISOString().slice(0, 10)}`,
    `- Machine: ${cpu}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB`,
    `- Node.js ${process.version} (${process.platform}-${process.arch})`,
    // Other work on the machine skews every figure; record how busy it was.
    `- Load average when the report was written: ${loadavg()
      .map((load) => load.toFixed(2))
      .join(", ")} (1, 5, 15 min)`,
    ...packages.map((name) => `- ${name} ${packageVersion(name)}`),
  ];
  return lines.join("\n");
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Thousands-separated integer. */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}
