/** An item of an {@link ExpiryHeap}: its expiry, and its slot, which only the heap writes. */
export interface HeapItem {
  /** Milliseconds since the epoch; call {@link ExpiryHeap.update} after changing it. */
  expiresAt: number;
  /** Position in the heap, -1 when not in one. */
  heapIndex: number;
}

/**
 * A binary min-heap of items by `expiresAt` that knows each item's position, so an item can be
 * moved or removed in O(log n) without a search.
 *
 * Why not the `Map`'s insertion order: it is not expiry order. A completion pushes its key's
 * expiry from a short lease to a long retention, leases and retentions differ per call, `touch`
 * extends, and an injected clock may step back. A sweep over insertion order could only stop
 * early by missing expired entries, or would have to scan every entry.
 *
 * @example
 * ```ts
 * const heap = new ExpiryHeap<{ expiresAt: number; heapIndex: number }>();
 * const item = { expiresAt: 10, heapIndex: -1 };
 * heap.push(item);
 * item.expiresAt = 5;
 * heap.update(item);
 * heap.peek() === item; // true
 * ```
 */
export class ExpiryHeap<T extends HeapItem> {
  readonly #items: T[] = [];

  /** Number of items held. */
  get size(): number {
    return this.#items.length;
  }

  /** The item that expires first, if any. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** Adds an item that is not in a heap. */
  push(item: T): void {
    item.heapIndex = this.#items.length;
    this.#items.push(item);
    this.#up(item.heapIndex);
  }

  /** Restores the order after `item.expiresAt` changed. */
  update(item: T): void {
    this.#down(this.#up(item.heapIndex));
  }

  /** Takes `item` out of the heap; a no-op if it is not in it. */
  remove(item: T): void {
    const index = item.heapIndex;
    if (index < 0 || this.#items[index] !== item) return;
    const last = this.#items.pop() as T;
    item.heapIndex = -1;
    if (last === item) return;
    this.#items[index] = last;
    last.heapIndex = index;
    this.#down(this.#up(index));
  }

  /** Drops every item. */
  clear(): void {
    for (const item of this.#items) item.heapIndex = -1;
    this.#items.length = 0;
  }

  /** Moves the item at `index` towards the root while it expires before its parent. */
  #up(index: number): number {
    const items = this.#items;
    const item = items[index] as T;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = items[parentIndex] as T;
      if (parent.expiresAt <= item.expiresAt) break;
      items[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    items[index] = item;
    item.heapIndex = index;
    return index;
  }

  /** Moves the item at `index` towards the leaves while a child expires before it. */
  #down(index: number): void {
    const items = this.#items;
    const length = items.length;
    const item = items[index] as T;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      const leftItem = items[left] as T;
      const rightItem = items[right];
      const child =
        rightItem !== undefined && rightItem.expiresAt < leftItem.expiresAt ? right : left;
      const childItem = items[child] as T;
      if (childItem.expiresAt >= item.expiresAt) break;
      items[index] = childItem;
      childItem.heapIndex = index;
      index = child;
    }
    items[index] = item;
    item.heapIndex = index;
  }
}
