/** /health/deep and every route that needs it answer 503 in the envelope when the database is gone; /health stays live. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../functions/local/stack';
import { readSettings } from '../../functions/settings';
import { LEAK_PATTERNS, request } from '../support/http';

let stack: LocalStack;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'interview-ops-health-'));
  stack = await startLocalStack(readSettings({ PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'SILENT' }));
});

afterAll(async () => {
  await stack.close().catch(() => undefined);
  await rm(dataDir, { recursive: true, force: true });
});

describe('a database that has gone away', () => {
  it('turns /health/deep into a 503 naming the database, and requests into 503s, never 500s', async () => {
    expect((await request(stack.url, 'GET', '/health/deep')).status).toBe(200);
    await stack.dependencies.sql.close();

    // Liveness touches no dependency: the function still answers.
    const live = await request(stack.url, 'GET', '/health');
    expect(live.status).toBe(200);
    expect(live.json).toEqual({ success: true, message: 'Service is healthy', data: { status: 'ok' } });

    const health = await request(stack.url, 'GET', '/health/deep');
    expect(health.status).toBe(503);
    expect(health.json).toEqual({ success: false, message: 'Service unhealthy', error: 'Unavailable: database' });

    const read = await request(stack.url, 'GET', '/sessions/any');
    expect(read.status).toBe(503);
    expect(read.json.success).toBe(false);
    for (const leak of LEAK_PATTERNS) expect(read.text).not.toMatch(leak);
  });
});
