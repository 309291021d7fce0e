import { describe, expect, it } from "vitest";
import { FakeTimers } from "../core/fake-timers.ts";
import { IntervalQueue, IntervalQueueEntry } from "../../src/utils/interval-queue.ts";

class Recorder extends IntervalQueueEntry {
  readonly name: string;
  readonly log: string[];
  readonly timers: FakeTimers;
  onFire: () => void = () => undefined;

  constructor(name: string, log: string[], timers: FakeTimers) {
    super();
    this.name = name;
    this.log = log;
    this.timers = timers;
  }

  fire(): void {
    this.log.push(`${this.name}@${this.timers.now()}`);
    this.onFire();
  }
}

function setup(intervalMs = 100) {
  const timers = new FakeTimers(0);
  const queue = new IntervalQueue(intervalMs, timers);
  const log: string[] = [];
  const entry = (name: string) => new Recorder(name, log, timers);
  return { timers, queue, log, entry };
}

describe("IntervalQueue", () => {
  it("fires each entry one interval after it was scheduled, in order, on one timer", async () => {
    const { timers, queue, log, entry } = setup();
    queue.schedule(entry("a"));
    await timers.advance(30);
    queue.schedule(entry("b"));
    await timers.advance(50);
    queue.schedule(entry("c"));
    await timers.advance(200);
    expect(log).toEqual(["a@100", "b@130", "c@180"]);
    expect(queue.empty).toBe(true);
    // The first timer, then one re-armed for each next head.
    expect(timers.set).toEqual([100, 30, 50]);
    expect(timers.pending).toBe(0);
  });

  it("never fires a cancelled entry, and fires the others on time", async () => {
    const { timers, queue, log, entry } = setup();
    const [a, b, c] = [entry("a"), entry("b"), entry("c")];
    queue.schedule(a);
    await timers.advance(10);
    queue.schedule(b);
    await timers.advance(10);
    queue.schedule(c);
    queue.cancel(b);
    queue.cancel(a);
    queue.cancel(a);
    await timers.advance(300);
    expect(log).toEqual(["c@120"]);
    queue.cancel(c);
    expect(queue.empty).toBe(true);
  });

  it("moves an entry scheduled again to the end, due one interval from then", async () => {
    const { timers, queue, log, entry } = setup();
    const [a, b] = [entry("a"), entry("b")];
    queue.schedule(a);
    queue.schedule(b);
    await timers.advance(50);
    queue.schedule(a);
    await timers.advance(300);
    expect(log).toEqual(["b@100", "a@150"]);
  });

  it("fires entries scheduled while firing after their own interval, not at once", async () => {
    const { timers, queue, log, entry } = setup();
    const a = entry("a");
    let rounds = 0;
    a.onFire = () => {
      if (++rounds < 3) queue.schedule(a);
    };
    queue.schedule(a);
    queue.schedule(entry("b"));
    await timers.advance(1000);
    expect(log).toEqual(["a@100", "b@100", "a@200", "a@300"]);
  });

  it("keeps firing the others when one entry's callback throws", async () => {
    const { timers, queue, log, entry } = setup();
    const a = entry("a");
    a.onFire = () => {
      throw new Error("boom");
    };
    queue.schedule(a);
    await timers.advance(10);
    queue.schedule(entry("b"));
    await expect(timers.advance(100)).rejects.toThrow("boom");
    await timers.advance(100);
    expect(log).toEqual(["a@100", "b@110"]);
  });

  it("fires an entry at once when the clock went back further than an interval", async () => {
    const { timers, queue, log, entry } = setup();
    queue.schedule(entry("a"));
    timers.shiftClock(-10_000);
    await timers.advance(100);
    // Due 10 s ahead by the clock, which no entry can be: it fires when its timer does.
    expect(log).toEqual(["a@-9900"]);
  });
});
