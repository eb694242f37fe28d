import { formatU64Hex } from "../abi/u64.js";
import { bytesHex } from "../text/hex-text.js";
import type { TraceResult } from "./trace-engine.js";
import { TraceOpCode, traceOpName } from "./trace-op.js";

/**
 * The output line of one op of `hvcall run` (docs/cli.md): `{"index": i, "op": "…", …}` with the
 * fields the op's row adds, and with --explain `check` and `why` on hypercall lines.
 */
export function traceResultLine(index: number, r: TraceResult, explain: boolean): string {
  const head = `{"index":${index},"op":"${traceOpName(r.code)}"`;
  if (r.code === TraceOpCode.hypercall) {
    const tail = explain ? `,"check":"${r.check}","why":${JSON.stringify(r.why)}` : "";
    return `${head},"status":"${r.statusName}","result":"${formatU64Hex(r.resultLo, r.resultHi)}"${tail}}\n`;
  }
  if (r.action !== "ok") return `${head},"outcome":"${r.action}"}\n`;
  if (r.code === TraceOpCode.read) return `${head},"outcome":"ok","hex":"${bytesHex(r.bytes!)}"}\n`;
  if (r.code === TraceOpCode.rdmsr)
    return `${head},"outcome":"ok","value":"${formatU64Hex(r.valueLo, r.valueHi)}"}\n`;
  return `${head},"outcome":"ok"}\n`;
}
