/*
 * Guest memory and the shared-info page: the memory the hypervisor and the guest share.
 * Models Xen's `shared_info` / `vcpu_info` (xen/include/public/xen.h) and guest frames mapped
 * by `map_guest_page`: pages are zeroed at first use and keep their contents for the
 * domain's life, so a page re-registered after a reset still holds what was written to it.
 */
import type { JsonValue } from '../contracts/snapshot.js';
import { at, readArray, readArrayInto, readInt, readObject, SnapshotError, writeArray } from '../snapshot/codec.js';
import { PAGE_WORDS } from '../xen.js';

/**
 * A domain's guest-physical memory as sparse 4 KiB pages of 32-bit words.
 * Only pages that were touched take memory.
 */
export class GuestMemory {
  private readonly pages = new Map<number, Uint32Array>();
  private nextFree = 1;

  /** @param memPages - number of guest frames; a gfn at or above it has no page */
  constructor(readonly memPages: number) {}

  /** Whether `gfn` names a page of this domain. */
  has(gfn: number): boolean {
    return Number.isSafeInteger(gfn) && gfn >= 0 && gfn < this.memPages;
  }

  /**
   * The page at `gfn` (zero-filled on first use), or `undefined` when the gfn has no page
   * (Xen's `get_page_from_gfn` failing).
   */
  page(gfn: number): Uint32Array | undefined {
    if (!this.has(gfn)) return undefined;
    let p = this.pages.get(gfn);
    if (!p) {
      p = new Uint32Array(PAGE_WORDS);
      this.pages.set(gfn, p);
    }
    return p;
  }

  /**
   * The guest kernel's page allocator: returns a gfn no earlier `allocate` returned, lowest
   * first, or `-1` when memory is exhausted.
   */
  allocate(): number {
    if (this.nextFree >= this.memPages) return -1;
    return this.nextFree++;
  }

  /** Number of pages that hold memory. */
  get touchedPages(): number {
    return this.pages.size;
  }

  /**
   * Loads a saved memory image (the toolstack's save/restore and migration copy every page
   * verbatim): this memory gets a copy of each page `image` holds, and its page allocator
   * continues where the image's stopped, so the guest finds its pages (FIFO control blocks,
   * event array) at the same gfns. Later writes to either memory do not reach the other.
   * @throws RangeError when `image` has more frames than this memory
   */
  loadImage(image: GuestMemory): void {
    if (image.memPages > this.memPages)
      throw new RangeError(`memory image has ${image.memPages} frames, the domain only ${this.memPages}`);
    this.pages.clear();
    for (const [gfn, page] of image.pages) this.pages.set(gfn, page.slice());
    this.nextFree = image.nextFree;
  }

  /**
   * The touched pages as `[gfn, words]` pairs in gfn order (words without trailing zeros) and
   * the allocation cursor.
   */
  getState(): { nextFree: number; pages: [number, number[]][] } {
    const gfns = [...this.pages.keys()].sort((a, b) => a - b);
    return { nextFree: this.nextFree, pages: gfns.map((g) => [g, writeArray(this.pages.get(g)!)]) };
  }

  /**
   * Restores {@link GuestMemory.getState}. Pages are written in place, so views other parts
   * hold on a page (an ABI's event array) see the restored words.
   */
  setState(state: JsonValue, path = 'memory'): void {
    const o = readObject(state, path);
    this.nextFree = readInt(o.nextFree, at(path, 'nextFree'), 1, this.memPages);
    const pages = readArray(o.pages, at(path, 'pages'));
    const seen = new Set<number>();
    pages.forEach((entry, i) => {
      const p = at(at(path, 'pages'), i);
      const pair = readArray(entry, p, 2);
      const gfn = readInt(pair[0], at(p, 0), 0, this.memPages - 1);
      if (seen.has(gfn)) throw new SnapshotError(at(p, 0), `page ${gfn} is given twice`);
      seen.add(gfn);
      readArrayInto(pair[1], at(p, 1), this.page(gfn)!);
    });
    for (const [gfn, page] of this.pages) if (!seen.has(gfn)) page.fill(0);
  }
}

/** Words of the 2-level pending and mask bitmaps: 64 words of 64 bits = 4096 ports. */
export const SHARED_BITMAP_WORDS32 = 128;

/**
 * The shared-info page and the vCPU-info areas of one domain, as typed arrays.
 *
 * `evtchnPending`/`evtchnMask` are the 2-level ABI's bitmaps (`shared_info.evtchn_pending`,
 * `evtchn_mask`), 32-bit halves, low half first; `pendingSel` is `vcpu_info.evtchn_pending_sel`
 * (two halves per vCPU). `upcallPending`/`upcallMask` are `evtchn_upcall_pending`/`_mask`,
 * used by every ABI.
 */
export class SharedInfo {
  /** `evtchn_pending` bitmap (4096 bits). */
  readonly evtchnPending = new Uint32Array(SHARED_BITMAP_WORDS32);
  /** `evtchn_mask` bitmap (4096 bits). */
  readonly evtchnMask = new Uint32Array(SHARED_BITMAP_WORDS32);
  /** Per-vCPU `evtchn_pending_sel`, two 32-bit halves per vCPU. */
  readonly pendingSel: Uint32Array;
  /** Per-vCPU `evtchn_upcall_pending`. */
  readonly upcallPending: Uint8Array;
  /** Per-vCPU `evtchn_upcall_mask`. */
  readonly upcallMask: Uint8Array;

  /** @param nrVcpus - number of vCPUs of the domain */
  constructor(readonly nrVcpus: number) {
    this.pendingSel = new Uint32Array(nrVcpus * 2);
    this.upcallPending = new Uint8Array(nrVcpus);
    this.upcallMask = new Uint8Array(nrVcpus);
  }

  /** The page's bitmaps and per-vCPU flags as JSON arrays. */
  getState(): Record<SharedInfoField, number[]> {
    const out = {} as Record<SharedInfoField, number[]>;
    for (const k of SHARED_INFO_FIELDS) out[k] = writeArray(this[k]);
    return out;
  }

  /** Restores {@link SharedInfo.getState} in place (ABIs hold views on these arrays). */
  setState(state: JsonValue, path = 'sharedInfo'): void {
    const o = readObject(state, path);
    for (const k of SHARED_INFO_FIELDS) readArrayInto(o[k], at(path, k), this[k]);
  }
}

const SHARED_INFO_FIELDS: readonly SharedInfoField[] = ['evtchnPending', 'evtchnMask', 'pendingSel', 'upcallPending', 'upcallMask'];
/** A field of the shared-info page a snapshot carries. */
export type SharedInfoField = 'evtchnPending' | 'evtchnMask' | 'pendingSel' | 'upcallPending' | 'upcallMask';
