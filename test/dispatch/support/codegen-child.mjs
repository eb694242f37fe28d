// Child process of no-codegen.test.ts: runs HvCallSignalEvent and HvCallPostMessage through
// Dispatcher.dispatch, hypercall() (with explanations, which decode the input blocks) and
// BatchRunner.run on the compiled package (dist/), and prints everything it saw as one JSON line.
// The test runs it with and without `node --disallow-code-generation-from-strings`.
const lib = await import(new URL("../../../dist/index.js", import.meta.url).href);
const abi = await import(new URL("../../../dist/abi/index.js", import.meta.url).href);

let codegen = "allowed";
try {
  new Function("return 1")();
} catch (error) {
  codegen = error instanceof Error ? error.constructor.name : String(error);
}

const scenario = {
  partitions: [
    {
      id: 1,
      privileges: ["SignalEvents", "PostMessages"],
      vps: [{ index: 0 }],
      connections: [
        { id: 0x20, portPartition: 2, portId: 10 },
        { id: 0x30, portPartition: 2, portId: 20 },
      ],
      memory: [{ gpa: "0x3000", hex: "00".repeat(4096) }],
    },
    {
      id: 2,
      vps: [
        {
          index: 0,
          scontrol: "0x1",
          siefp: "0x10001",
          simp: "0x11001",
          sints: { 3: "0x5a", 4: "0x5b", 5: "0x4005c" },
        },
      ],
      ports: [
        { id: 10, type: "event", targetVp: 0, targetSint: 3, baseFlagNumber: 19, flagCount: 64 },
        { id: 20, type: "message", targetVp: 0, targetSint: 4 },
      ],
    },
  ],
};

/** A PostMessage input block: ConnectionId, RsvdZ, MessageType, PayloadSize, "ping". */
function message(connectionId, type, size) {
  const block = new Uint8Array(256);
  const view = new DataView(block.buffer);
  view.setUint32(0, connectionId, true);
  view.setUint32(8, type, true);
  view.setUint32(12, size, true);
  block.set(new TextEncoder().encode("ping"), 16);
  return block;
}

const calls = [
  // [control, RDX, message block to write at 0x3000 first]
  [0x1005dn, (6n << 32n) | 0x20n],
  [0x1005dn, (6n << 32n) | 0x20n],
  [0x1005dn, (64n << 32n) | 0x20n],
  [0x1005dn, (1n << 48n) | 0x20n],
  [0x5cn, 0x3000n, message(0x30, 1, 4)],
  [0x5cn, 0x3000n, message(0x30, 1, 4)],
  [0x5cn, 0x3000n, message(0x30, 0, 4)],
  [0x5cn, 0x3000n, message(0x20, 1, 4)],
  [0x5cn, 0x3004n],
  [0x1005cn, 0n],
];

const out = { codegen, dispatch: [], hypercall: [], batch: [], decoded: [], states: [] };

// Dispatcher.dispatch
{
  const machine = lib.loadMachine(lib.parseScenario(scenario));
  const d = new lib.Dispatcher(machine);
  for (const [control, rdx, block] of calls) {
    if (block !== undefined) machine.guestWrite(1, 0x3000n, block);
    const lo = (v) => Number(v & 0xffffffffn);
    const hi = (v) => Number(v >> 32n);
    out.dispatch.push(d.dispatch(0, 0, lo(control), hi(control), lo(rdx), hi(rdx)));
  }
  out.states.push(lib.dumpScenario(machine));
}

// hypercall(), with explanations
{
  const machine = lib.loadMachine(lib.parseScenario(scenario));
  const d = new lib.Dispatcher(machine);
  for (const [control, rdx, block] of calls) {
    if (block !== undefined) machine.guestWrite(1, 0x3000n, block);
    const r = lib.hypercall(d, { caller: 1, control, input: rdx }, { explain: true });
    out.hypercall.push([r.statusName, r.result.toString(16), r.repsCompleted, r.check, r.why]);
  }
  out.states.push(lib.dumpScenario(machine));
}

// BatchRunner.run: fast and memory SignalEvent, memory PostMessage (8 bytes, then zeros), fast PostMessage
{
  const machine = lib.loadMachine(lib.parseScenario(scenario));
  const runner = new lib.BatchRunner(new lib.Dispatcher(machine), { caller: 1 });
  const list = [
    [0x1005dn, (1n << 32n) | 0x20n],
    [0x5dn, (2n << 32n) | 0x20n],
    [0x5dn, (2n << 32n) | 0x20n],
    [0x5cn, 0x30n],
    [0x5cn, (1n << 32n) | 0x30n],
    [0x1005cn, 0x30n],
    [0x1005dn, (99n << 32n) | 0x20n],
  ];
  const records = new Uint8Array(list.length * lib.RECORD_SIZE);
  list.forEach(([c, i], k) => {
    records.set(lib.encodeRecord(c, i), k * lib.RECORD_SIZE);
  });
  const results = new Uint32Array(list.length * lib.RESULT_WORDS);
  const counts = new Uint32Array(0x10000);
  runner.run(records, results, counts);
  out.batch.push([...results], counts[0], counts[lib.HvStatus.INVALID_PARAMETER]);
  out.states.push(lib.dumpScenario(machine));
}

// The block layouts' decoders (binary-parser; a table walk where code generation is off)
out.decoded.push(abi.SIGNAL_EVENT_INPUT.decode(new Uint8Array([0x20, 0, 0, 0, 6, 0, 1, 0])));
const post = abi.POST_MESSAGE_INPUT.decode(message(0x30, 1, 4));
out.decoded.push({ ...post, payload: Buffer.from(post.payload.subarray(0, 4)).toString() });

process.stdout.write(
  `${JSON.stringify(out, (_key, value) => (typeof value === "bigint" ? `${value}n` : value))}\n`,
);
