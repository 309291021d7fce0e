// Runs the fault suite for longer: npm run soak -- --minutes N. Each time-bounded workload
// phase runs N minutes / 8 instead of its CI duration; the figures of every scenario are
// printed as a markdown table (the one in RELIABILITY.md comes from such a run), with the
// machine's load before and after.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { formatFaults, formatFigure, type ScenarioReport } from "./scenario-report.ts";

const flag = process.argv.indexOf("--minutes");
const minutes = Number(flag === -1 ? 5 : process.argv[flag + 1]);
if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 24 * 60) {
  throw new Error("--minutes must be a number from 0 to 1440");
}
const load = () =>
  loadavg()
    .map((average) => average.toFixed(2))
    .join(", ");
const loadBefore = load();
const startedAt = Date.now();
const phaseMs = Math.round((minutes * 60_000) / 8);
const reportFile = join(mkdtempSync(join(tmpdir(), "idempotent-soak-")), "report.jsonl");
const result = spawnSync("npx", ["vitest", "run", "test/faults"], {
  stdio: "inherit",
  env: {
    ...process.env,
    IDEMPOTENT_SOAK_MS: String(phaseMs),
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
const cell = (text: string) => text.replaceAll("|", "\\|");
console.log(
  `\nsoak of ${minutes} min: workload phases of ${phaseMs} ms; ran ${Math.round((Date.now() - startedAt) / 1000)} s; Node.js ${process.version}; load average (1, 5, 15 min) ${loadBefore} before, ${load()} after; vitest exit status ${result.status ?? "none"}`,
);
console.log(
  `\n| scenario | operations | faults (measured, by kind) | duplicate executions | silent duplicates | responses lost | notes |`,
);
console.log(`| --- | ---: | --- | ---: | ---: | ---: | --- |`);
for (const entry of reports) {
  console.log(
    `| ${[
      entry.scenario,
      String(entry.operations),
      formatFaults(entry.faults),
      formatFigure(entry.duplicates),
      formatFigure(entry.silent),
      formatFigure(entry.lost),
      entry.note ?? "",
    ]
      .map(cell)
      .join(" | ")} |`,
  );
}
process.exit(result.status ?? 1);
