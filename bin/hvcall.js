#!/usr/bin/env node
// The hvcall command: a shim over the compiled CLI (npm run build puts it in dist/).
import { main } from "../dist/cli/main.js";

process.exitCode = await main(process.argv.slice(2));
