import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each file that boots the stack opens PGlite (about 5 s); two cores, so two files at a time.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // The JSON report lets .ci/run print a plain 'N passed, N failed' line.
    reporters: ['default', 'json'],
    outputFile: { json: '.test-results/vitest.json' },
    // In-process stacks log through the shared logger; child stacks set their own level.
    env: { LOG_LEVEL: 'SILENT' },
  },
});
