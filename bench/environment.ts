import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** Version of an installed package, read from its package.json. */
export function packageVersion(name: string): string {
  try {
    const path = require.resolve(`${name}/package.json`);
    return (JSON.parse(readFileSync(path, "utf8")) as { version: string }).version;
  } catch {
    return "not installed";
  }
}

/** A markdown paragraph naming the machine, Node.js and the given packages. */
export function describeEnvironment(packages: readonly string[] = []): string {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const lines = [
    `- Date: ${new Date().toISOString().slice(0, 10)}`,
    `- Machine: ${cpu}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB`,
    `- Node.js ${process.version} (${process.platform}-${process.arch})`,
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
