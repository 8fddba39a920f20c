import { describe, expect, it } from "vitest";
import { KeySlots } from "../../../src/sinks/warehouse/key-slots.js";

describe("KeySlots", () => {
  it("gives each distinct key its slot in order of first sight, found again by its bytes", () => {
    const keys = ["a", "ab", "b", "", "ba", "abc"].map((key) => Buffer.from(`#####${key}`));
    const slots = new KeySlots(12);
    expect(keys.map((key) => slots.slotOf(key, 5, key.length))).toEqual([0, 1, 2, 3, 4, 5]);
    // Equal bytes in other buffers, at other offsets, are the same keys.
    const again = Buffer.from("xxabcxba");
    expect(slots.slotOf(again, 2, 5)).toBe(5);
    expect(slots.slotOf(again, 6, 8)).toBe(4);
    expect(slots.slotOf(again, 2, 3)).toBe(0);
    expect(slots.count).toBe(6);
  });

  it("keeps keys apart whose hashes share a table entry, up to the keys it was made for", () => {
    const count = 500;
    const slots = new KeySlots(count);
    const key = (index: number) => Buffer.from(String(index * 7919));
    for (let index = 0; index < count; index++)
      expect(slots.slotOf(key(index), 0, key(index).length)).toBe(index);
    for (let index = count - 1; index >= 0; index--)
      expect(slots.slotOf(key(index), 0, key(index).length)).toBe(index);
    const full = new KeySlots(1);
    for (let index = 0; index < 8; index++) full.slotOf(key(index), 0, key(index).length);
    expect(() => full.slotOf(key(8), 0, key(8).length)).toThrow(RangeError);
  });
});
