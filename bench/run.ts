// Runs every benchmark and writes its table to bench/results/<name>.md. Run: npm run bench
// Pass names to run a subset: npm run bench -- memory fingerprint
import { writeFileSync } from "node:fs";

const benches: Record<string, () => Promise<string>> = {
  fingerprint: async () => (await import("./fingerprint.ts")).runFingerprintBench(),
  memory: async () => (await import("./memory.ts")).runMemoryBench(),
  execute: async () => (await import("./execute.ts")).runExecuteBench(),
  valkey: async () => (await import("./valkey.ts")).runValkeyBench(),
  postgres: async () => (await import("./postgres.ts")).runPostgresBench(),
  http: async () => (await import("./http.ts")).runHttpBench(),
  encryption: async () => (await import("./encryption.ts")).runEncryptionBench(),
};

const selected = process.argv.slice(2).filter((name) => !name.startsWith("-"));
for (const name of selected.length > 0 ? selected : Object.keys(benches)) {
  const run = benches[name];
  if (run === undefined) throw new Error(`unknown benchmark ${name}`);
  console.log(`\n# ${name}\n`);
  const report = await run();
  console.log(report);
  writeFileSync(new URL(`results/${name}.md`, import.meta.url), report);
}
