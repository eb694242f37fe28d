#!/usr/bin/env node
// The hvcall command: a shim over the compiled CLI (npm run build puts it in dist/).
import { existsSync } from "node:fs";

const main = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    "hvcall: dist/ is not built yet: run `npm run build` (npm start and npm test build it too)\n",
  );
  process.exitCode = 2;
} else {
  const { main: run } = await import(main.href);
  process.exitCode = await run(process.argv.slice(2));
}
