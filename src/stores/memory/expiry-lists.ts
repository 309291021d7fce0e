import { ExpiryHeap, type HeapItem } from "./expiry-heap.ts";

/** An item of {@link ExpiryLists}: its expiry, and links that only the lists write. */
export interface ListedItem {
  /** Milliseconds since the epoch; call {@link ExpiryLists.move} after changing it. */
  expiresAt: number;
  /** The list holding the item, undefined when in none. */
  expiryList: ExpiryList<this> | undefined;
  previous: this | undefined;
  next: this | undefined;
}

/** The items given one time-to-live, soonest expiry first; in the heap by its head's expiry. */
export interface ExpiryList<T extends ListedItem> extends HeapItem {
  readonly ttlMs: number;
  head: T | undefined;
  tail: T | undefined;
}

/**
 * Items by `expiresAt`, soonest first: one list per time-to-live, and a heap of the lists by
 * their first item's expiry.
 *
 * Items given the same time-to-live expire in the order they were given it, so each joins the
 * end of its list in O(1) (a clock that stepped back costs a short walk from the end), and
 * leaves it in O(1). The heap moves only when a list's first item changes, and holds one slot
 * per time-to-live in use, not one per item: a heap of every record would write a slot of one
 * large array per claim and completion, which the garbage collector pays for.
 *
 * @example
 * ```ts
 * const lists = new ExpiryLists<Item>();
 * lists.add(item, 30_000); // item.expiresAt = now + 30_000
 * lists.peek(); // the item that expires first
 * ```
 */
export class ExpiryLists<T extends ListedItem> {
  // Lists stay when they empty (a store with one claim at a time would otherwise make and drop
  // its lease list every cycle), up to this many; past it the empty ones are dropped.
  static readonly #keptLists = 64;
  readonly #lists = new Map<number, ExpiryList<T>>();
  readonly #heads = new ExpiryHeap<ExpiryList<T>>();

  /** The item that expires first, if any. */
  peek(): T | undefined {
    return this.#heads.peek()?.head;
  }

  /** Adds an item that is in no list, whose `expiresAt` was set `ttlMs` after now. */
  add(item: T, ttlMs: number): void {
    let list = this.#lists.get(ttlMs);
    if (list === undefined) {
      if (this.#lists.size >= ExpiryLists.#keptLists) this.#dropEmptyLists();
      list = { ttlMs, head: undefined, tail: undefined, expiresAt: 0, heapIndex: -1 };
      this.#lists.set(ttlMs, list);
    }
    item.expiryList = list;
    // Find the last item expiring no later than this one: the tail, unless the clock went back.
    let before = list.tail;
    while (before !== undefined && before.expiresAt > item.expiresAt) before = before.previous;
    item.previous = before;
    item.next = before === undefined ? list.head : before.next;
    if (item.next === undefined) list.tail = item;
    else item.next.previous = item;
    if (before !== undefined) {
      before.next = item;
      return;
    }
    list.head = item;
    list.expiresAt = item.expiresAt;
    if (list.heapIndex < 0) this.#heads.push(list);
    else this.#heads.update(list);
  }

  /** Moves an item after its `expiresAt` was set `ttlMs` after now. */
  move(item: T, ttlMs: number): void {
    this.remove(item);
    this.add(item, ttlMs);
  }

  /** Takes `item` out of its list; a no-op if it is in none. */
  remove(item: T): void {
    const list = item.expiryList;
    if (list === undefined) return;
    const { previous, next } = item;
    if (next === undefined) list.tail = previous;
    else next.previous = previous;
    item.expiryList = undefined;
    item.previous = undefined;
    item.next = undefined;
    if (previous !== undefined) {
      previous.next = next;
      return;
    }
    list.head = next;
    if (next === undefined) {
      this.#heads.remove(list);
    } else {
      list.expiresAt = next.expiresAt;
      this.#heads.update(list);
    }
  }

  /** The number of lists held, empty ones included. */
  get lists(): number {
    return this.#lists.size;
  }

  #dropEmptyLists(): void {
    for (const [ttlMs, list] of this.#lists) {
      if (list.head === undefined) this.#lists.delete(ttlMs);
    }
  }

  /** Drops every item. */
  clear(): void {
    for (const list of this.#lists.values()) {
      for (let item = list.head; item !== undefined;) {
        const { next } = item;
        item.expiryList = undefined;
        item.previous = undefined;
        item.next = undefined;
        item = next;
      }
    }
    this.#lists.clear();
    this.#heads.clear();
  }
}
