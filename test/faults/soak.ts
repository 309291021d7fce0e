// Runs the fault suite for longer: npm run soak -- --minutes N. Each time-bounded workload
// phase runs N minutes / 8 instead of its CI duration; the figures of every scenario are
// printed as a markdown table (the one in RELIABILITY.md comes from such a run).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ScenarioReport } from "./scenario-report.ts";

const flag = process.argv.indexOf("--minutes");
const minutes = Number(flag === -1 ? 5 : process.argv[flag + 1]);
if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 24 * 60) {
  throw new Error("--minutes must be a number from 0 to 1440");
}
const reportFile = join(mkdtempSync(join(tmpdir(), "idempotent-soak-")), "report.jsonl");
const result = spawnSync("npx", ["vitest", "run", "test/faults"], {
  stdio: "inherit",
  env: {
    ...process.env,
    IDEMPOTENT_SOAK_MS: String(Math.round((minutes * 60_000) / 8)),
    IDEMPOTENT_SOAK_REPORT: reportFile,
  },
});
let reports: ScenarioReport[] = [];
try {
  reports = readFileSync(reportFile, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ScenarioReport);
} catch {
  // no scenario reported
}
console.log(`\n| scenario | operations | faults | duplicate executions | responses lost | notes |`);
console.log(`| --- | ---: | ---: | ---: | ---: | --- |`);
for (const entry of reports) {
  console.log(
    `| ${entry.scenario} | ${entry.operations} | ${entry.faults} | ${entry.duplicates} | ${entry.lost} | ${entry.note ?? ""} |`,
  );
}
process.exit(result.status ?? 1);
