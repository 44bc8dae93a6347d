/**
 * The snapshot routes over real HTTP against the target: the real `npm start` entry point (PGlite and the
 * directory store) or, with TARGET=twin, the twin of what `cdk deploy` ships. A restart of the same data
 * directory with the local scheduler running every second is test/local/snapshots-restart.test.ts.
 */
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectRefusal } from '../support/http';
import { keyOf, startTarget, TARGET_START_TIMEOUT_MS, type Target } from '../support/target';

let target: Target | undefined;
const call: Target['request'] = (method, path, init) => target!.request(method, path, init);

/** The stored snapshot file a file_path names; fails the test when it is absent. */
const fileAt = async (filePath: string) => {
  const bytes = await target!.readObject(filePath);
  expect(bytes, filePath).toBeDefined();
  return bytes!;
};

/** A manifest as stored: gzipped JSON (docs/snapshots.md). */
const manifestAt = async (filePath: string) => JSON.parse(gunzipSync(await fileAt(filePath)).toString('utf8'));

const ISO_SECOND = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

beforeAll(async () => {
  // An hour between scheduled runs: the routes are tested on their own.
  target = await startTarget({ snapshotIntervalSeconds: 3600 });
}, TARGET_START_TIMEOUT_MS);

afterAll(async () => {
  await target?.stop();
});

describe('before any snapshot', () => {
  it('GET /sandbox_snapshot is 404 and the list is empty', async () => {
    expectRefusal(await call('GET', '/sandbox_snapshot'), 404);
    const listed = await call('GET', '/sandbox_snapshots');
    expect(listed.status).toBe(200);
    expect(listed.json).toEqual({
      success: true,
      message: 'Found 0 snapshots',
      data: { snapshots: [], total_count: 0, next_cursor: null },
    });
  });

  it('refuses malformed ids and query values with 400, unknown ids with 404', async () => {
    for (const bad of [
      'snapshot_123',
      'snapshot_17041104000',
      'snapshot_abcdefghij',
      '..%2F..%2Fetc',
      'SNAPSHOT_1704110400',
      'snapshot_1704110400.json',
    ]) {
      expectRefusal(await call('GET', `/sandbox_snapshot/${bad}`), 400);
    }
    expectRefusal(await call('GET', '/sandbox_snapshot/snapshot_1704110400'), 404);
    expectRefusal(await call('GET', '/sandbox_snapshots?limit=0'), 400);
    expectRefusal(await call('GET', '/sandbox_snapshots?limit=1001'), 400);
    expectRefusal(await call('GET', '/sandbox_snapshots?cursor=..%2Fx'), 400);
  });
});

describe('taking and reading snapshots', () => {
  let triggered: any;

  it('POST /sandbox_snapshot/trigger takes one with the rows in it', async () => {
    expect((await call('POST', '/sessions', { json: { session_id: 'snap-1', candidate: 'Ada', metadata: { level: 3 } } })).status).toBe(
      201,
    );
    expect((await call('POST', '/sessions/snap-1/code_history', { json: { code: 'x = 1', language: 'python' } })).status).toBe(201);
    expect((await call('POST', '/sessions/snap-1/execution_results', { json: { stdout: 'ok', stderr: '', exit_code: 0 } })).status).toBe(
      201,
    );

    const response = await call('POST', '/sandbox_snapshot/trigger');
    expect(response.status).toBe(201);
    expect(response.json.success).toBe(true);
    expect(response.json.message).toBe('Snapshot created successfully');
    triggered = response.json.data;
    expect(Object.keys(triggered)).toEqual(['timestamp', 'snapshot_id', 'data', 'metadata', 'file_path']);
    expect(triggered.snapshot_id).toMatch(/^snapshot_\d{10}$/);
    expect(triggered.timestamp).toMatch(ISO_SECOND);
    expect(Date.parse(triggered.timestamp) / 1000).toBe(Number(triggered.snapshot_id.slice('snapshot_'.length)));
    const compact = triggered.timestamp.replace(/[-:]/g, '').replace('T', '_').replace('Z', '');
    expect(keyOf(triggered.file_path)).toBe(`snapshots/snapshot_${compact}.json`);
    expect(triggered.data.sessions).toEqual([
      { session_id: 'snap-1', candidate: 'Ada', interviewer: null, metadata: { level: 3 }, created_at: expect.stringMatching(/Z$/) },
    ]);
    expect(triggered.data.code_history).toHaveLength(1);
    expect(triggered.data.execution_results).toHaveLength(1);
    expect(triggered.data.audio_chunks).toEqual([]);
    expect(triggered.metadata).toEqual({
      total_sessions: 1,
      total_audio_chunks: 0,
      total_code_entries: 1,
      total_executions: 1,
      snapshot_size_bytes: expect.any(Number),
    });
    // The file is a manifest naming the segment pieces that hold the rows (docs/snapshots.md).
    const manifest = await manifestAt(triggered.file_path);
    expect(manifest).toMatchObject({ format: 'segments/2', snapshot_id: triggered.snapshot_id, metadata: triggered.metadata });
    // The size is that of the whole state as one document: the rows as stored plus the framing.
    expect(triggered.metadata.snapshot_size_bytes).toBeGreaterThan(Buffer.byteLength(JSON.stringify(triggered.data)));
  });

  it('GET /sandbox_snapshot and GET /sandbox_snapshot/{id} return it', async () => {
    const latest = await call('GET', '/sandbox_snapshot');
    expect(latest.status).toBe(200);
    expect(latest.json).toEqual({ success: true, message: 'Latest snapshot retrieved successfully', data: triggered });
    const byId = await call('GET', `/sandbox_snapshot/${triggered.snapshot_id}`);
    expect(byId.json).toEqual({ success: true, message: 'Snapshot retrieved successfully', data: triggered });
  });

  it('two triggers at once: each gets a whole snapshot of its own, never a 409', async () => {
    // Start in a fresh second, so the first trigger's second is not the previous test's.
    await new Promise((resolveWait) => setTimeout(resolveWait, 1050 - (Date.now() % 1000)));
    const responses = await Promise.all([call('POST', '/sandbox_snapshot/trigger'), call('POST', '/sandbox_snapshot/trigger')]);
    for (const response of responses) expect(response.status).toBe(201);
    expect(responses[0]!.json.data.snapshot_id).not.toBe(responses[1]!.json.data.snapshot_id);
    const created = responses.filter((response) => response.status === 201).map((response) => response.json.data);
    expect(created.length).toBeGreaterThanOrEqual(1);
    for (const snapshot of created) {
      const file = await manifestAt(snapshot.file_path);
      expect(file.snapshot_id).toBe(snapshot.snapshot_id);
      expect(snapshot.data).toEqual(triggered.data);
      expect((await call('GET', `/sandbox_snapshot/${snapshot.snapshot_id}`)).json.data).toEqual(snapshot);
    }
  });

  it('every write moves the change marker, which quiet scheduled minutes compare (IAM lets each writer put it)', async () => {
    const markerPath = triggered.file_path.replace(/snapshots\/snapshot_\d{8}_\d{6}\.json$/, 'snapshot-segments/change-marker');
    const markerNow = async () => (await target!.readObject(markerPath))?.toString('utf8');
    let last = await markerNow();
    expect(last).toBeDefined();
    for (const [path, json] of [
      ['/sessions', { session_id: 'snap-marker' }],
      ['/sessions/snap-marker/code_history', { code: 'y = 2', language: 'python' }],
      ['/sessions/snap-marker/execution_results', { stdout: '', stderr: '', exit_code: 0 }],
    ] as const) {
      expect((await call('POST', path, { json })).status, path).toBe(201);
      const now = await markerNow();
      expect(now, path).not.toBe(last);
      last = now;
    }
  });

  it('GET /sandbox_snapshots lists them newest first with one is_latest, and pages with limit and cursor', async () => {
    const all = await call('GET', '/sandbox_snapshots');
    expect(all.status).toBe(200);
    const { snapshots, total_count } = all.json.data;
    expect(all.json.message).toBe(`Found ${total_count} snapshots`);
    expect(snapshots).toHaveLength(total_count);
    expect(total_count).toBeGreaterThanOrEqual(2);
    const ids = snapshots.map((snapshot: any) => snapshot.snapshot_id);
    expect(ids).toEqual([...ids].sort().reverse());
    expect(snapshots.filter((snapshot: any) => snapshot.is_latest)).toHaveLength(1);
    expect(snapshots[0].is_latest).toBe(true);
    expect(Object.keys(snapshots[0])).toEqual(['snapshot_id', 'timestamp', 'file_path', 'file_size', 'is_latest']);
    expect(snapshots.at(-1).snapshot_id).toBe(triggered.snapshot_id);
    expect(snapshots.at(-1).file_size).toBe((await fileAt(triggered.file_path)).length);

    const first = await call('GET', '/sandbox_snapshots?limit=1');
    expect(first.json.data.snapshots.map((snapshot: any) => snapshot.snapshot_id)).toEqual([ids[0]]);
    expect(first.json.data.next_cursor).toBe(ids[0]);
    const second = await call('GET', `/sandbox_snapshots?limit=1&cursor=${first.json.data.next_cursor}`);
    expect(second.json.data.snapshots.map((snapshot: any) => snapshot.snapshot_id)).toEqual([ids[1]]);
    expect(second.json.data.snapshots[0].is_latest).toBe(false);
    expect(second.json.data.total_count).toBe(total_count);
  });
});

describe('a snapshot over the inline limit', () => {
  it('is described with its parts, and the parts hold every row', async () => {
    expect((await call('POST', '/sessions', { json: { session_id: 'big-1' } })).status).toBe(201);
    // 48 KB of code per entry (the route's limit): 120 entries are about 5.8 MB of rows.
    const code = `# ${'x'.repeat(48 * 1024 - 100)}\n`;
    for (let batch = 0; batch < 12; batch += 1) {
      const posted = await Promise.all(
        Array.from({ length: 10 }, () => call('POST', '/sessions/big-1/code_history', { json: { code, language: 'python' } })),
      );
      for (const response of posted) expect(response.status).toBe(201);
    }
    const response = await call('POST', '/sandbox_snapshot/trigger');
    expect(response.status).toBe(201);
    const view = response.json.data;
    expect(view.data).toBeNull();
    expect(view.metadata.snapshot_size_bytes).toBeGreaterThan(5_000_000);
    expect(view.parts.length).toBeGreaterThan(1);
    const rows: Record<string, any[]> = { sessions: [], audio_chunks: [], code_history: [], execution_results: [] };
    for (const [index, path] of view.parts.entries()) {
      expect(path).toBe(`/sandbox_snapshot/${view.snapshot_id}/parts/${index}`);
      const part = await call('GET', path);
      expect(part.status).toBe(200);
      expect(part.json.data).toMatchObject({ snapshot_id: view.snapshot_id, part: index, parts_total: view.parts.length });
      rows[part.json.data.section]!.push(...part.json.data.rows);
    }
    expect(rows.sessions).toHaveLength(view.metadata.total_sessions);
    expect(rows.code_history).toHaveLength(view.metadata.total_code_entries);
    expect(rows.code_history!.filter((row) => row.code === code)).toHaveLength(120);
    expectRefusal(await call('GET', `/sandbox_snapshot/${view.snapshot_id}/parts/${view.parts.length}`), 404);
    expectRefusal(await call('GET', `/sandbox_snapshot/${view.snapshot_id}/parts/-1`), 400);
    expectRefusal(await call('GET', `/sandbox_snapshot/${view.snapshot_id}/parts/01`), 400);
  });
});

describe('a part bigger than a Lambda response', () => {
  it('is served by a presigned URL of its rows, and smaller parts inline', async () => {
    expect((await call('POST', '/sessions', { json: { session_id: 'quoted-1' } })).status).toBe(201);
    // 48 KB of quotes per entry (the route's limit): each is 96 KB as JSON and twice that again once the
    // response carries the body as a string, so a full 4 MiB piece is about 8 MiB in the response.
    const code = '"'.repeat(48 * 1024 - 100);
    for (let batch = 0; batch < 5; batch += 1) {
      const posted = await Promise.all(
        Array.from({ length: 10 }, () => call('POST', '/sessions/quoted-1/code_history', { json: { code, language: 'text' } })),
      );
      for (const response of posted) expect(response.status).toBe(201);
    }
    const response = await call('POST', '/sandbox_snapshot/trigger');
    expect(response.status).toBe(201);
    const view = response.json.data;
    expect(view.data).toBeNull();
    const codeRows: any[] = [];
    let byUrl = 0;
    for (const path of view.parts) {
      const part = await call('GET', path);
      expect(part.status).toBe(200);
      let rows = part.json.data.rows;
      if (rows === null) {
        byUrl += 1;
        expect(Date.parse(part.json.data.url_expires_at)).toBeGreaterThan(Date.now());
        // The URL carries its own authorization: a plain GET, no credentials.
        const fetched = await fetch(part.json.data.url);
        expect(fetched.status).toBe(200);
        rows = JSON.parse(await fetched.text());
      }
      if (part.json.data.section === 'code_history') codeRows.push(...rows);
    }
    expect(byUrl).toBeGreaterThan(0);
    expect(byUrl).toBeLessThan(view.parts.length);
    expect(codeRows.filter((row) => row.code === code)).toHaveLength(50);
  });
});
