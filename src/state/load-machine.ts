import { PORT_TYPE_NAMES } from "../abi/port-type.js";
import { SIEF_PAGE_BYTES, SINT_COUNT } from "../abi/sief-page.js";
import { u64ToHalves } from "../abi/u64.js";
import { HV_ANY_VP } from "../abi/vp-index.js";
import { GuestMemory } from "./guest-memory.js";
import { Machine } from "./machine.js";
import {
  ANY_VP_STALE,
  type MachineTables,
  NO_PORT,
  TARGET_VP_ANY,
  TARGET_VP_MISSING,
} from "./machine-tables.js";
import { NOT_FOUND, PairHashTable } from "./pair-hash-table.js";
import type { ScenarioDocument } from "./scenario-document.js";
import { SiefImage } from "./sief-image.js";
import { MSR_SCONTROL, MSR_SIEFP, MSR_SIMP, MSR_SINT0, MSR_STRIDE } from "./synic-registers.js";

export interface MachineOptions {
  /**
   * Back every table and the SIEF image with SharedArrayBuffers so that worker threads can signal
   * into the same machine (flags are then set with Atomics).
   */
  readonly shared?: boolean;
}

type TypedArrayCtor<T> = new (buffer: ArrayBufferLike) => T;

/** Builds the machine a validated scenario describes. */
export function loadMachine(doc: ScenarioDocument, options: MachineOptions = {}): Machine {
  const shared = options.shared === true;
  const alloc = <T extends { readonly BYTES_PER_ELEMENT: number }>(
    Ctor: TypedArrayCtor<T> & { readonly BYTES_PER_ELEMENT: number },
    length: number,
  ): T => {
    const bytes = length * Ctor.BYTES_PER_ELEMENT;
    return new Ctor(shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  };

  const parts = doc.partitions;
  const nP = parts.length;
  let nV = 0;
  let nQ = 0;
  let nC = 0;
  for (const p of parts) {
    nV += p.vps.length;
    nQ += p.ports.length;
    nC += p.connections.length;
  }

  const slotById = new Map<number, number>();
  parts.forEach((p, i) => {
    slotById.set(p.id, i);
  });

  const portLookup = PairHashTable.create(nQ, shared);
  const connLookup = PairHashTable.create(nC, shared);
  const t: MachineTables = {
    shared,
    partitionId: alloc(Float64Array, nP),
    partitionActive: alloc(Uint8Array, nP),
    privilegeLo: alloc(Uint32Array, nP),
    privilegeHi: alloc(Uint32Array, nP),
    partitionVpStart: alloc(Int32Array, nP),
    partitionVpCount: alloc(Int32Array, nP),
    anyVpCache: alloc(Int32Array, nP).fill(ANY_VP_STALE),
    vpPartition: alloc(Int32Array, nV),
    vpIndex: alloc(Uint32Array, nV),
    msrs: alloc(Uint32Array, nV * MSR_STRIDE),
    sintAssertions: alloc(Uint32Array, nV * SINT_COUNT),
    siefBuffer: shared
      ? new SharedArrayBuffer(nV * SIEF_PAGE_BYTES)
      : new ArrayBuffer(nV * SIEF_PAGE_BYTES),
    portPartition: alloc(Int32Array, nQ),
    portId: alloc(Uint32Array, nQ),
    portType: alloc(Uint8Array, nQ),
    portDeleted: alloc(Uint8Array, nQ),
    portTargetSint: alloc(Uint8Array, nQ),
    portTargetVp: alloc(Uint32Array, nQ),
    portTargetVpSlot: alloc(Int32Array, nQ),
    portBaseFlag: alloc(Uint16Array, nQ),
    portFlagCount: alloc(Uint16Array, nQ),
    portLookup,
    connOwner: alloc(Int32Array, nC),
    connId: alloc(Uint32Array, nC),
    connPortPartition: alloc(Int32Array, nC),
    connPortId: alloc(Uint32Array, nC),
    connPortSlot: alloc(Int32Array, nC),
    connLookup,
  };

  const sief = new SiefImage(nV, { buffer: t.siefBuffer });
  const setMsr = (v: number, off: number, value: bigint) => {
    const { lo, hi } = u64ToHalves(value);
    t.msrs[v * MSR_STRIDE + off] = lo;
    t.msrs[v * MSR_STRIDE + off + 1] = hi;
  };

  let v = 0;
  let q = 0;
  const memory: GuestMemory[] = [];
  parts.forEach((p, ps) => {
    t.partitionId[ps] = p.id;
    t.partitionActive[ps] = p.state === "active" ? 1 : 0;
    const mask = u64ToHalves(p.privilegeMask);
    t.privilegeLo[ps] = mask.lo;
    t.privilegeHi[ps] = mask.hi;

    // VPs of a partition take consecutive slots, ascending by VP index.
    const vps = [...p.vps].sort((a, b) => a.index - b.index);
    t.partitionVpStart[ps] = v;
    t.partitionVpCount[ps] = vps.length;
    const vpSlotByIndex = new Map<number, number>();
    for (const vp of vps) {
      t.vpPartition[v] = ps;
      t.vpIndex[v] = vp.index;
      setMsr(v, MSR_SCONTROL, vp.scontrol);
      setMsr(v, MSR_SIEFP, vp.siefp);
      setMsr(v, MSR_SIMP, vp.simp);
      vp.sints.forEach((value, sint) => {
        setMsr(v, MSR_SINT0 + 2 * sint, value);
      });
      vp.siefFlags.forEach((flags, sint) => {
        for (const flag of flags) sief.testAndSet(v, sint, flag);
      });
      vp.sintAssertions.forEach((count, sint) => {
        t.sintAssertions[v * SINT_COUNT + sint] = count;
      });
      vpSlotByIndex.set(vp.index, v);
      v++;
    }

    for (const port of p.ports) {
      t.portPartition[q] = ps;
      t.portId[q] = port.id;
      t.portType[q] = PORT_TYPE_NAMES[port.type];
      t.portDeleted[q] = port.deleted ? 1 : 0;
      t.portTargetSint[q] = port.targetSint;
      t.portTargetVp[q] = port.targetVp;
      t.portTargetVpSlot[q] =
        port.targetVp === HV_ANY_VP
          ? TARGET_VP_ANY
          : (vpSlotByIndex.get(port.targetVp) ?? TARGET_VP_MISSING);
      t.portBaseFlag[q] = port.baseFlagNumber;
      t.portFlagCount[q] = port.flagCount;
      if (!portLookup.insert(ps, port.id, q)) {
        throw new RangeError(`partition ${p.id} has two ports with id ${port.id}`);
      }
      q++;
    }

    const mem = new GuestMemory();
    for (const m of p.memory) mem.write(m.gpa, m.bytes);
    memory.push(mem);
  });

  // Connections last: they resolve against every partition's ports.
  let c = 0;
  parts.forEach((p, ps) => {
    for (const conn of p.connections) {
      const portPs = slotById.get(conn.portPartition);
      if (portPs === undefined) {
        throw new RangeError(
          `partition ${p.id} connection ${conn.id} names unknown partition ${conn.portPartition}`,
        );
      }
      t.connOwner[c] = ps;
      t.connId[c] = conn.id;
      t.connPortPartition[c] = portPs;
      t.connPortId[c] = conn.portId;
      const port = portLookup.get(portPs, conn.portId);
      t.connPortSlot[c] = port === NOT_FOUND ? NO_PORT : port;
      if (!connLookup.insert(ps, conn.id, c)) {
        throw new RangeError(`partition ${p.id} has two connections with id ${conn.id}`);
      }
      c++;
    }
  });

  return new Machine(t, memory);
}
