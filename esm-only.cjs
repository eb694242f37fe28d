// hvcall is an ES module. This file answers require("hvcall") with a clear message instead of
// Node's ERR_PACKAGE_PATH_NOT_EXPORTED.
throw new Error(
  'hvcall is an ES module (ESM only): use `import { … } from "hvcall"`, or from CommonJS `const hvcall = await import("hvcall")`.',
);
