import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ExpiryHeap } from "../../../src/stores/memory/expiry-heap.ts";

interface Item {
  readonly name: number;
  expiresAt: number;
  heapIndex: number;
}

type HeapCommand =
  | { readonly type: "push"; readonly expiresAt: number }
  | { readonly type: "update"; readonly pick: number; readonly expiresAt: number }
  | { readonly type: "remove"; readonly pick: number }
  | { readonly type: "pop" };

const expiry = fc.integer({ min: -5, max: 20 }); // small: many ties
const pick = fc.nat();
const commands: fc.Arbitrary<HeapCommand[]> = fc.array(
  fc.oneof(
    fc.record({ type: fc.constant("push" as const), expiresAt: expiry }),
    fc.record({ type: fc.constant("update" as const), pick, expiresAt: expiry }),
    fc.record({ type: fc.constant("remove" as const), pick }),
    fc.record({ type: fc.constant("pop" as const) }),
  ),
  { maxLength: 200 },
);

describe("ExpiryHeap", () => {
  it("always yields an item of the least expiry, and keeps every position right", () => {
    fc.assert(
      fc.property(commands, (script) => {
        const heap = new ExpiryHeap<Item>();
        const model: Item[] = [];
        let names = 0;
        for (const command of script) {
          const chosen = "pick" in command ? model[command.pick % model.length] : undefined;
          switch (command.type) {
            case "push": {
              const item = { name: names++, expiresAt: command.expiresAt, heapIndex: -1 };
              heap.push(item);
              model.push(item);
              break;
            }
            case "update":
              if (chosen === undefined) break;
              chosen.expiresAt = command.expiresAt;
              heap.update(chosen);
              break;
            case "remove":
              if (chosen === undefined) break;
              heap.remove(chosen);
              heap.remove(chosen); // a second removal is a no-op
              expect(chosen.heapIndex).toBe(-1);
              model.splice(model.indexOf(chosen), 1);
              break;
            case "pop": {
              const top = heap.peek();
              if (top === undefined) break;
              heap.remove(top);
              model.splice(model.indexOf(top), 1);
              break;
            }
          }
          expect(heap.size).toBe(model.length);
          const least = Math.min(...model.map((item) => item.expiresAt));
          expect(heap.peek()?.expiresAt).toBe(model.length === 0 ? undefined : least);
        }
        // Draining yields every item once, in expiry order.
        const drained: number[] = [];
        for (let top = heap.peek(); top !== undefined; top = heap.peek()) {
          drained.push(top.expiresAt);
          heap.remove(top);
        }
        expect(drained).toEqual(model.map((item) => item.expiresAt).sort((a, b) => a - b));
      }),
      { numRuns: 300 },
    );
  });

  it("clears every position", () => {
    const heap = new ExpiryHeap<Item>();
    const items = [3, 1, 2].map((expiresAt, name) => ({ name, expiresAt, heapIndex: -1 }));
    for (const item of items) heap.push(item);
    heap.clear();
    expect(heap.size).toBe(0);
    expect(items.map((item) => item.heapIndex)).toEqual([-1, -1, -1]);
  });
});
