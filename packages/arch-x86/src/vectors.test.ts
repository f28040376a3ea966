import { describe, expect, it } from 'vitest';
import { Errno } from '@evtchn/core';
import {
  FIRST_SYSTEM_VECTOR,
  HYPERVISOR_CALLBACK_VECTOR,
  IA32_SYSCALL_VECTOR,
  ISA_IRQ_VECTOR_BASE,
  LOCAL_TIMER_VECTOR,
  SPURIOUS_APIC_VECTOR,
  VECTOR_FREE,
  VECTOR_RESERVED,
  VectorTables,
  vectorClass,
} from './vectors.js';

describe('per-CPU vector tables', () => {
  it('reserves exceptions, the ISA range, int 0x80 and the system vectors incl. the callback vector', () => {
    const t = new VectorTables(2);
    for (const v of [0, 0x1f, 0x20, ISA_IRQ_VECTOR_BASE, IA32_SYSCALL_VECTOR, LOCAL_TIMER_VECTOR, HYPERVISOR_CALLBACK_VECTOR, SPURIOUS_APIC_VECTOR]) {
      expect(t.irqAt(1, v)).toBe(VECTOR_RESERVED);
    }
    expect(t.irqAt(0, 0x21)).toBe(VECTOR_FREE);
    expect(HYPERVISOR_CALLBACK_VECTOR).toBeGreaterThanOrEqual(FIRST_SYSTEM_VECTOR);
  });

  it('assigns the lowest free external vector and runs out with -ENOSPC, per CPU', () => {
    const t = new VectorTables(2);
    // 0x21..0xEB is 203 vectors, minus 16 ISA vectors and 0x80.
    expect(t.freeCount(0)).toBe(186);
    expect(t.assign(0, 100)).toBe(0x21);
    const got = [0x21];
    for (let i = 1; i < 186; i++) got.push(t.assign(0, 100 + i));
    expect(new Set(got).size).toBe(186);
    expect(got.every((v) => VectorTables.isExternal(v))).toBe(true);
    expect(t.assign(0, 999)).toBe(-Errno.ENOSPC);
    expect(t.assign(1, 999)).toBe(0x21); // the other CPU is untouched
    t.release(0, 0x50);
    expect(t.assign(0, 998)).toBe(0x50);
    expect(t.irqAt(0, 0x50)).toBe(998);
  });

  it('assigns aligned blocks for multi-message MSI', () => {
    const t = new VectorTables(1);
    expect(t.assignBlock(0, [1, 2, 3, 4])).toBe(0x24);
    expect(t.irqAt(0, 0x27)).toBe(4);
    expect(t.assignBlock(0, [1, 2, 3])).toBe(-Errno.EINVAL);
  });

  it('priority class is the high nibble', () => {
    expect(vectorClass(0xf3)).toBe(0xf);
    expect(vectorClass(0x51)).toBe(5);
  });
});
