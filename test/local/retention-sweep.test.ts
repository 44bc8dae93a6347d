/**
 * The retention sweep on the local stack's own schedule (RETENTION_SWEEP_INTERVAL_SECONDS), through the
 * real `npm start` process: with a session period of about a second, an unheld session and its audio are
 * erased by the scheduled run, while a held one stays whole.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toneWav } from '../support/audio-fixtures';
import { type LocalTarget, startLocalTarget } from '../support/target';

let target: LocalTarget;

beforeAll(async () => {
  // 0.0001 days is under nine seconds: long enough to place a hold first, short enough to wait for.
  target = await startLocalTarget({ env: { SESSION_RETENTION_DAYS: '0.0001', RETENTION_SWEEP_INTERVAL_SECONDS: '1' } });
}, 120_000);

afterAll(async () => {
  await target?.stop();
});

describe('the local retention sweep', () => {
  it('erases sessions past their period on schedule, and keeps held ones', async () => {
    const audioKeys: Record<string, string> = {};
    for (const sessionId of ['kept', 'swept']) {
      expect((await target.request('POST', '/sessions', { json: { session_id: sessionId } })).status).toBe(201);
      if (sessionId === 'kept') {
        expect((await target.request('PUT', '/sessions/kept/hold', { json: { reason: 'litigation' } })).status).toBe(200);
      }
      const upload = await target.request('POST', `/sessions/${sessionId}/audio_chunks`, {
        body: toneWav({ seconds: 0.5 }),
        headers: { 'content-type': 'audio/wav' },
      });
      expect(upload.status).toBe(201);
      audioKeys[sessionId] = `audio/${sessionId}/${upload.json.data.chunk_id}.wav`;
      expect(await target.readKey(audioKeys[sessionId]!)).toBeDefined();
    }

    await expect.poll(async () => (await target.request('GET', '/sessions/swept')).status, { timeout: 30_000, interval: 250 }).toBe(404);
    expect(await target.readKey(audioKeys.swept!)).toBeUndefined();
    // The run logs after its last step; its line reaches us through the process's stdout a moment later.
    await expect
      .poll(() => target.logs.some((line) => line.message === 'Retention sweep done' && Number(line.sessions_erased) >= 1), {
        timeout: 30_000,
        interval: 250,
      })
      .toBe(true);

    expect((await target.request('GET', '/sessions/kept')).status).toBe(200);
    expect(await target.readKey(audioKeys.kept!)).toBeDefined();
  });
});
