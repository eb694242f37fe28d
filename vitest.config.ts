import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // vitest's own summary, then one plain "N passed, N failed" line for CI.
    reporters: ["default", "./test/plain-summary-reporter.ts"],
    // Builds dist/ once for the CLI tests, which run the real `node bin/hvcall.js`.
    globalSetup: ["test/cli/build-dist.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
