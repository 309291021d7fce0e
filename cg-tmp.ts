import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { freePort, waitForPing } from "./test/servers/redis-server.ts";
import * as scripts from "./src/stores/valkey/scripts.ts";
const run = promisify(execFile);
const variants: [string, string, string[]][] = JSON.parse(readFileSync(process.argv[2]!, "utf8"));
const dir = mkdtempSync(join(tmpdir(), "cg-"));
const port = await freePort();
const vg = spawn("valgrind", ["--tool=callgrind", `--callgrind-out-file=${join(dir, "o")}`, "redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir], { stdio: "ignore" });
await waitForPing(port, 120000);
const c = new Redis(port, "127.0.0.1");
const dump = async () => {
  const before = new Set(readdirSync(dir));
  await run("callgrind_control", ["-d", String(vg.pid)]);
  const f = readdirSync(dir).find((n) => !before.has(n) && n !== "o")!;
  const t = Number(/^(?:totals|summary): (\d+)/m.exec(readFileSync(join(dir, f), "utf8"))![1]);
  rmSync(join(dir, f));
  return t;
};
const N = 300;
// a completed record to read
const { layout } = scripts;
for (const [name, src, args] of variants) {
  const sha = String(await c.call("SCRIPT", "LOAD", src));
  const keys = Array.from({ length: N }, (_, i) => `k:{${name}-${i}}`);
  const setup = async (k: string) => {
    if (args[0] === "completed") {
      const hdr = Buffer.from('[["content-type","application/json"]]');
      await c.set(k, Buffer.concat([Buffer.from("2c" + "1732792800123456" + String(Date.now() * 1000) + "0000600000" + "9a".repeat(16) + "201" + String(hdr.length).padStart(10, "0")), hdr, Buffer.from('{"id":42,"status":"created"}')]), "PX", 600000);
    } else if (args[0] === "processing") {
      await c.set(k, "2p" + "1732792800123456" + String(Date.now() * 1000) + "0000030000" + "9a".repeat(16), "PX", 600000);
    }
  };
  for (const k of keys) await setup(k);
  for (let i = 0; i < 50; i++) { await setup(`warm:{${name}${i}}`); await c.callBuffer("EVALSHA", sha, 1, `warm:{${name}${i}}`, ...args.slice(1)); }
  await dump();
  for (const k of keys) await c.callBuffer("EVALSHA", sha, 1, k, ...args.slice(1));
  console.log(name.padEnd(40), ((await dump()) / N / 1000).toFixed(1) + "k");
}
c.disconnect();
vg.kill();
