/** A bounded FIFO that drops its oldest item when full (ADR-0011's publish policy). O(1) push and shift. */
export class DropOldestQueue<T> {
  private readonly items: Array<T | undefined>;
  private head = 0;
  private size_ = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError("capacity must be a positive integer");
    this.items = new Array(capacity);
  }

  get size(): number {
    return this.size_;
  }

  /** Adds an item; returns the item dropped to make room, if any. */
  push(item: T): T | undefined {
    let dropped: T | undefined;
    if (this.size_ === this.capacity) {
      dropped = this.items[this.head];
      this.head = (this.head + 1) % this.capacity;
      this.size_--;
    }
    this.items[(this.head + this.size_) % this.capacity] = item;
    this.size_++;
    return dropped;
  }

  /**
   * Puts an item back at the head (it is the next to leave). When full, the item is refused and returned:
   * the head is already the oldest, so the one put back is the one to drop.
   */
  unshift(item: T): T | undefined {
    if (this.size_ === this.capacity) return item;
    this.head = (this.head - 1 + this.capacity) % this.capacity;
    this.items[this.head] = item;
    this.size_++;
    return undefined;
  }

  shift(): T | undefined {
    if (this.size_ === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.size_--;
    return item;
  }
}
