/**
 * An open-addressing hash table from a pair of u32 keys (an owner slot and an id) to a slot number,
 * in typed arrays: no allocation per lookup, O(1) expected, shareable between threads when built on
 * SharedArrayBuffers. Built once at load; the machine's structure does not change afterwards.
 */
export const NOT_FOUND = -1;

const EMPTY = -1;
/** Load factor at most 1/2: capacity is the next power of two >= 2 * count. */
const MIN_CAPACITY = 8;

/** The capacity of a table for `count` keys: a power of two, at least twice the count. */
export function pairHashCapacity(count: number): number {
  let capacity = MIN_CAPACITY;
  while (capacity < count * 2) capacity *= 2;
  return capacity;
}

export class PairHashTable {
  private readonly mask: number;
  private size = 0;

  private constructor(
    readonly owners: Int32Array,
    readonly ids: Uint32Array,
    readonly values: Int32Array,
  ) {
    this.mask = owners.length - 1;
  }

  /** A table over arrays of one capacity (owners filled with EMPTY when new). */
  static over(owners: Int32Array, ids: Uint32Array, values: Int32Array): PairHashTable {
    return new PairHashTable(owners, ids, values);
  }

  private static hash(owner: number, id: number): number {
    return Math.imul(owner ^ Math.imul(id, 0x9e3779b1), 0x85ebca6b) ^ (id >>> 15);
  }

  /** The slot stored for (owner, id), or NOT_FOUND. */
  get(owner: number, id: number): number {
    const mask = this.mask;
    let i = PairHashTable.hash(owner, id) & mask;
    for (;;) {
      const o = this.owners[i]!;
      if (o === EMPTY) return NOT_FOUND;
      if (o === owner && this.ids[i] === id) return this.values[i]!;
      i = (i + 1) & mask;
    }
  }

  /** Inserts; false (and no change) when the key is already present. */
  insert(owner: number, id: number, value: number): boolean {
    const mask = this.mask;
    if (this.size >= mask) throw new RangeError("PairHashTable is full");
    let i = PairHashTable.hash(owner, id) & mask;
    for (;;) {
      const o = this.owners[i]!;
      if (o === EMPTY) {
        this.owners[i] = owner;
        this.ids[i] = id >>> 0;
        this.values[i] = value;
        this.size++;
        return true;
      }
      if (o === owner && this.ids[i] === id >>> 0) return false;
      i = (i + 1) & mask;
    }
  }
}
