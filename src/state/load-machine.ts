import { HV_MESSAGE_PAYLOAD_MAX } from "../abi/hv-message.js";
import { HvPortType, PORT_TYPE_NAMES } from "../abi/port-type.js";
import { SIM_PAGE_BYTES, SIM_SLOT_BYTES, SINT_COUNT } from "../abi/sief-page.js";
import { u64ToHalves } from "../abi/u64.js";
import { HV_ANY_VP } from "../abi/vp-index.js";
import { GuestMemory } from "./guest-memory.js";
import { Machine } from "./machine.js";
import {
  allocateTables,
  type MachineCounts,
  type MachineTables,
  NO_PORT,
  TARGET_VP_ANY,
  TARGET_VP_MISSING,
} from "./machine-tables.js";
import { enqueueMessage, freeBuffer } from "./message-queues.js";
import { NOT_FOUND, PairHashTable, pairHashCapacity } from "./pair-hash-table.js";
import { isParsedScenario } from "./scenario-brand.js";
import type { PartitionSpec, ScenarioDocument } from "./scenario-document.js";
import { SiefImage } from "./sief-image.js";
import { MSR_SCONTROL, MSR_SIEFP, MSR_SIMP, MSR_SINT0, MSR_STRIDE } from "./synic-registers.js";

export interface MachineOptions {
  /**
   * Back every table (SIEF and SIM pages included) with SharedArrayBuffers so that worker threads
   * can signal into the same machine (flags are then set with Atomics).
   */
  readonly shared?: boolean;
}

function countsOf(parts: readonly PartitionSpec[]): MachineCounts {
  let vps = 0;
  let ports = 0;
  let connections = 0;
  let messagePorts = 0;
  for (const p of parts) {
    vps += p.vps.length;
    ports += p.ports.length;
    connections += p.connections.length;
    for (const q of p.ports) if (q.type === "message") messagePorts++;
  }
  return {
    partitions: parts.length,
    vps,
    ports,
    connections,
    messagePorts,
    portCapacity: pairHashCapacity(ports),
    connCapacity: pairHashCapacity(connections),
  };
}

/** Builds the machine a validated scenario (or a dump) describes. */
export function loadMachine(doc: ScenarioDocument, options: MachineOptions = {}): Machine {
  if (!isParsedScenario(doc)) {
    throw new TypeError(
      "loadMachine: doc must be what parseScenario or parseScenarioText returned (they check every field); parse the scenario first",
    );
  }
  const parts = doc.partitions;
  const t = allocateTables(countsOf(parts), options.shared === true);
  const portLookup = PairHashTable.over(t.portLookupOwners, t.portLookupIds, t.portLookupValues);
  const connLookup = PairHashTable.over(t.connLookupOwners, t.connLookupIds, t.connLookupValues);
  const sief = new SiefImage(t.sief);
  const slotById = new Map<number, number>();
  parts.forEach((p, i) => {
    slotById.set(p.id, i);
  });

  let v = 0;
  let q = 0;
  let ordinal = 0;
  const memory: GuestMemory[] = [];
  const vpSlotsOf: Map<number, number>[] = [];
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
      setMsr(t, v, MSR_SCONTROL, vp.scontrol);
      setMsr(t, v, MSR_SIEFP, vp.siefp);
      setMsr(t, v, MSR_SIMP, vp.simp);
      vp.sints.forEach((value, sint) => {
        setMsr(t, v, MSR_SINT0 + 2 * sint, value);
      });
      vp.siefFlags.forEach((flags, sint) => {
        for (const flag of flags) sief.testAndSet(v, sint, flag);
      });
      vp.sintAssertions.forEach((count, sint) => {
        t.sintAssertions[v * SINT_COUNT + sint] = count;
      });
      vp.simSlots.forEach((slot, sint) => {
        if (slot !== undefined) t.sim.set(slot, v * SIM_PAGE_BYTES + sint * SIM_SLOT_BYTES);
      });
      vpSlotByIndex.set(vp.index, v);
      v++;
    }
    vpSlotsOf.push(vpSlotByIndex);

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
      if (t.portType[q] === HvPortType.Message) {
        t.portMessageOrdinal[q] = ordinal;
        ordinal++;
      }
      if (!portLookup.insert(ps, port.id, q)) {
        throw new RangeError(`partition ${p.id} has two ports with id ${port.id}`);
      }
      q++;
    }

    const mem = new GuestMemory();
    for (const m of p.memory) mem.writeRam(m.gpa, m.bytes);
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

  const machine = new Machine(t, memory);
  loadQueues(machine, parts, vpSlotsOf);
  return machine;
}

function setMsr(t: MachineTables, v: number, off: number, value: bigint): void {
  const { lo, hi } = u64ToHalves(value);
  t.msrs[v * MSR_STRIDE + off] = lo;
  t.msrs[v * MSR_STRIDE + off + 1] = hi;
}

/** A dump's queued messages, back into their ports' buffers and their queues, in order. */
function loadQueues(
  machine: Machine,
  parts: readonly PartitionSpec[],
  vpSlotsOf: readonly ReadonlyMap<number, number>[],
): void {
  const t = machine.tables;
  parts.forEach((p, ps) => {
    for (const vp of p.vps) {
      const v = vpSlotsOf[ps]!.get(vp.index)!;
      vp.messageQueues.forEach((messages, sint) => {
        for (const m of messages) {
          const q = machine.portLookup.get(ps, m.portId);
          const ordinal = q < 0 ? -1 : t.portMessageOrdinal[q]!;
          const b = ordinal < 0 ? -1 : freeBuffer(t, ordinal);
          if (b < 0) {
            // The scenario checks rule this out; a hand-built document may not have had them.
            throw new RangeError(
              `partition ${p.id} VP ${vp.index} SINT ${sint}: a queued message names port ${m.portId}, which has no free message buffer`,
            );
          }
          const words = new Uint32Array(HV_MESSAGE_PAYLOAD_MAX / 4);
          new Uint8Array(words.buffer).set(m.payload);
          enqueueMessage(
            machine,
            ordinal,
            b,
            q,
            v,
            sint,
            m.messageType,
            m.payload.length,
            words,
            0,
          );
        }
      });
    }
  });
}
