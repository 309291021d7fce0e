import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ExpiryLists, type ExpiryList } from "../../../src/stores/memory/expiry-lists.ts";

interface Item {
  readonly name: number;
  expiresAt: number;
  expiryList: ExpiryList<Item> | undefined;
  previous: Item | undefined;
  next: Item | undefined;
}

function item(name: number, expiresAt: number): Item {
  return { name, expiresAt, expiryList: undefined, previous: undefined, next: undefined };
}

type Command =
  | { readonly type: "add"; readonly ttl: number; readonly step: number }
  | { readonly type: "move"; readonly pick: number; readonly ttl: number; readonly step: number }
  | { readonly type: "remove"; readonly pick: number }
  | { readonly type: "pop" };

// A clock that mostly moves on and sometimes steps back; few TTLs, so lists are shared.
const step = fc.integer({ min: -10, max: 15 });
const ttl = fc.constantFrom(1, 5, 20, 60);
const pick = fc.nat();
const commands: fc.Arbitrary<Command[]> = fc.array(
  fc.oneof(
    fc.record({ type: fc.constant("add" as const), ttl, step }),
    fc.record({ type: fc.constant("move" as const), pick, ttl, step }),
    fc.record({ type: fc.constant("remove" as const), pick }),
    fc.record({ type: fc.constant("pop" as const) }),
  ),
  { minLength: 20, maxLength: 200 },
);

/** The items of `item`'s list from its head, checking the links both ways and the order. */
function walk(list: ExpiryList<Item>): Item[] {
  const items: Item[] = [];
  let previous: Item | undefined;
  for (let each = list.head; each !== undefined; each = each.next) {
    expect(each.previous).toBe(previous);
    expect(each.expiryList).toBe(list);
    if (previous !== undefined) expect(previous.expiresAt).toBeLessThanOrEqual(each.expiresAt);
    items.push(each);
    previous = each;
  }
  expect(list.tail).toBe(previous);
  return items;
}

describe("ExpiryLists", () => {
  it("always yields an item of the least expiry, with every list linked and in order, also when the clock steps back", () => {
    fc.assert(
      fc.property(commands, (script) => {
        const lists = new ExpiryLists<Item>();
        const model: Item[] = [];
        let now = 100;
        let names = 0;
        for (const command of script) {
          const chosen = "pick" in command ? model[command.pick % model.length] : undefined;
          switch (command.type) {
            case "add": {
              now += command.step;
              const added = item(names++, now + command.ttl);
              lists.add(added, command.ttl);
              model.push(added);
              break;
            }
            case "move":
              if (chosen === undefined) break;
              now += command.step;
              chosen.expiresAt = now + command.ttl;
              lists.move(chosen, command.ttl);
              break;
            case "remove":
              if (chosen === undefined) break;
              lists.remove(chosen);
              lists.remove(chosen); // a second time: a no-op
              model.splice(model.indexOf(chosen), 1);
              break;
            case "pop": {
              const soonest = lists.peek();
              if (soonest !== undefined) {
                lists.remove(soonest);
                model.splice(model.indexOf(soonest), 1);
              }
              break;
            }
          }
          const least = Math.min(...model.map(({ expiresAt }) => expiresAt));
          expect(lists.peek()?.expiresAt).toBe(model.length === 0 ? undefined : least);
          const listed = new Set<Item>();
          for (const { expiryList } of model) {
            if (expiryList === undefined) throw new Error("an item left its list");
            if (!listed.has(expiryList.head as Item)) {
              for (const each of walk(expiryList)) listed.add(each);
            }
          }
          expect(listed.size).toBe(model.length);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("keeps one list per time-to-live, appends to its end, and leaves out of the heap a list once empty", () => {
    const lists = new ExpiryLists<Item>();
    const [a, b, c] = [item(1, 110), item(2, 130), item(3, 115)];
    lists.add(a, 10);
    lists.add(b, 30);
    lists.add(c, 10);
    expect(a.expiryList).toBe(c.expiryList);
    expect(walk(a.expiryList as ExpiryList<Item>)).toEqual([a, c]);
    expect(walk(b.expiryList as ExpiryList<Item>)).toEqual([b]);
    expect(lists.peek()).toBe(a);
    lists.remove(a);
    expect(lists.peek()).toBe(c);
    lists.remove(c);
    expect(lists.peek()).toBe(b);
    // Taken out of its list, an item holds no links that would keep others alive.
    expect([a.expiryList, a.previous, a.next]).toEqual([undefined, undefined, undefined]);
    lists.remove(b);
    expect(lists.peek()).toBeUndefined();
    lists.add(a, 30);
    expect(lists.peek()).toBe(a);
  });

  it("finds the soonest item in another list once a list's first item leaves", () => {
    const lists = new ExpiryLists<Item>();
    const [a, b, c] = [item(1, 101), item(2, 130), item(3, 140)];
    lists.add(a, 1);
    lists.add(b, 30);
    lists.add(c, 1);
    expect(lists.peek()).toBe(a);
    lists.remove(a);
    expect(lists.peek()).toBe(b);
  });

  it("finds an item that went to the front of its list after the clock stepped back", () => {
    const lists = new ExpiryLists<Item>();
    const [x, y, z] = [item(1, 110), item(2, 130), item(3, 105)];
    lists.add(x, 10);
    lists.add(y, 30);
    lists.add(z, 30);
    expect(walk(z.expiryList as ExpiryList<Item>)).toEqual([z, y]);
    expect(lists.peek()).toBe(z);
  });

  it("keeps a list that empties for the next item of its time-to-live, and at most 64 lists besides the ones in use", () => {
    const lists = new ExpiryLists<Item>();
    const first = item(1, 110);
    lists.add(first, 10);
    const list = first.expiryList;
    lists.remove(first);
    const second = item(2, 120);
    lists.add(second, 10);
    expect(second.expiryList).toBe(list);
    const held = Array.from({ length: 200 }, (_, i) => item(10 + i, 1000 + i));
    for (const [i, each] of held.entries()) {
      lists.add(each, 1000 + i);
      lists.remove(each);
    }
    expect(lists.lists).toBeLessThanOrEqual(65);
    expect(lists.peek()).toBe(second);
  });

  it("clear unlinks every item", () => {
    const lists = new ExpiryLists<Item>();
    const items = [item(1, 5), item(2, 6), item(3, 7)];
    for (const each of items) lists.add(each, 5);
    lists.clear();
    expect(lists.peek()).toBeUndefined();
    for (const each of items) {
      expect([each.expiryList, each.previous, each.next]).toEqual([
        undefined,
        undefined,
        undefined,
      ]);
    }
    lists.add(items[0] as Item, 5);
    expect(lists.peek()).toBe(items[0]);
  });
});
