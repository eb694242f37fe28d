/**
 * A SignalPool worker: rebuilds the machine from its shared tables (same SIEF image, same
 * assertion counters) and runs the slices of records it is sent through its own BatchRunner, over
 * a dispatcher that implements HvCallSignalEvent only: any other call is the host thread's
 * (see SignalPool), and here answers INVALID_HYPERCALL_CODE without touching the machine. Flags are
 * set with Atomics.or and assertions counted with Atomics.add, so no flag and no assertion is lost
 * or counted twice whatever the interleaving.
 */
import { parentPort, workerData } from "node:worker_threads";
import { BatchRunner } from "../dispatch/batch-runner.js";
import { Dispatcher } from "../dispatch/dispatcher.js";
import { signalEventRow } from "../dispatch/handlers/signal-event.js";
import { Machine } from "../state/machine.js";
import { READY_ID, type WorkerInit, type WorkerJob, type WorkerReply } from "./protocol.js";

const port = parentPort;
if (port === null)
  throw new Error("signal-worker.js runs only as a worker thread (see SignalPool)");

const init = workerData as WorkerInit;
const machine = new Machine(init.tables);
const runner = new BatchRunner(new Dispatcher(machine, [signalEventRow]), {
  caller: init.caller,
  vp: init.vp,
  scratchGpa: init.scratchGpa,
});

port.on("message", (job: WorkerJob) => {
  let reply: WorkerReply;
  try {
    const records = runner.run(
      job.records,
      job.results,
      job.countStatuses ? init.statusCounts : undefined,
    );
    reply = { id: job.id, ok: true, records };
  } catch (error) {
    reply = {
      id: job.id,
      ok: false,
      error: error instanceof Error ? error.message : String(error),
    };
  }
  port.postMessage(reply);
});

const ready: WorkerReply = { id: READY_ID, ok: true, records: 0 };
port.postMessage(ready);
