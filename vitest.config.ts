import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Each file that boots a stack opens PGlite or a PostgreSQL server; two cores, so two files at a time.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // The JSON report lets .ci/run print a plain 'N passed, N failed' line.
    reporters: ['default', 'json'],
    outputFile: { json: '.test-results/vitest.json' },
    projects: [
      {
        extends: true,
        test: {
          name: 'local',
          include: ['test/**/*.test.ts'],
          exclude: ['test/twin/**'],
          // In-process stacks log through the shared logger; child stacks set their own level.
          env: { LOG_LEVEL: 'SILENT' },
        },
      },
      {
        // The same end-to-end suite against what `cdk deploy` ships (twin/), plus the twin's own tests.
        extends: true,
        test: {
          name: 'twin',
          include: ['test/e2e/**/*.test.ts', 'test/twin/**/*.test.ts'],
          globalSetup: ['test/twin/global-setup.ts'],
          env: { LOG_LEVEL: 'SILENT', TARGET: 'twin' },
        },
      },
    ],
  },
});
