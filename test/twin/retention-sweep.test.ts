/**
 * The retention sweep as `cdk deploy` ships it, on the twin: its schedule rule fires the bundled
 * function, whose own role must allow every listing, deletion and re-tagging it makes. A held session's
 * objects are re-tagged `held` again; objects left under an erased session's prefixes are deleted.
 */
import { GetObjectTaggingCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toneWav } from '../support/audio-fixtures';
import { startTwinTarget, type TwinTarget } from '../support/twin-target';

let target: TwinTarget;

beforeAll(async () => {
  target = await startTwinTarget();
}, 300_000);
afterAll(() => target?.stop());

const tagsOf = async (key: string) =>
  (await target.twin.s3.adminClient().send(new GetObjectTaggingCommand({ Bucket: target.twin.bucket, Key: key }))).TagSet;

describe('the scheduled retention sweep on the twin', () => {
  it('re-tags held sessions and deletes orphaned objects, with nothing refused', async () => {
    const { template, events, s3, bucket } = target.twin;
    expect((await target.request('POST', '/sessions', { json: { session_id: 'twin-held' } })).status).toBe(201);
    const upload = await target.request('POST', '/sessions/twin-held/audio_chunks', {
      body: toneWav({ seconds: 0.5 }),
      headers: { 'content-type': 'audio/wav' },
    });
    expect(upload.status, upload.text).toBe(201);
    const audioKey = `audio/twin-held/${upload.json.data.chunk_id}.wav`;
    expect((await target.request('PUT', '/sessions/twin-held/hold', { json: { reason: 'dispute' } })).status).toBe(200);
    expect(await tagsOf(audioKey)).toEqual([{ Key: 'retention', Value: 'held' }]);
    // As if written into the held session after its hold: the sweep must re-tag it.
    await s3.adminClient().send(new PutObjectCommand({ Bucket: bucket, Key: 'transcripts/twin-held/twin-held_99.txt', Body: 'late' }));
    // Left by a transcription that finished after its session's erasure: no session row.
    await s3.adminClient().send(new PutObjectCommand({ Bucket: bucket, Key: 'transcripts/twin-gone/twin-gone_1.txt', Body: 'orphan' }));

    const [rule] = template.ofType('AWS::Events::Rule').filter((id) => id.startsWith('SweepRetentionEvents'));
    expect(rule).toBeDefined();
    events.fireRule(rule!);
    await expect
      .poll(() => target.logs.find((line) => line.message === 'Retention sweep done'), { timeout: 60_000, interval: 250 })
      .toMatchObject({ orphans_deleted: 1, sessions_erased: 0 });
    await events.settled();

    expect(await target.readKey('transcripts/twin-gone/twin-gone_1.txt')).toBeUndefined();
    expect(await target.readKey(audioKey)).toBeDefined();
    expect(await tagsOf('transcripts/twin-held/twin-held_99.txt')).toEqual([{ Key: 'retention', Value: 'held' }]);
    expect(target.logs.filter((line) => line.twin === 'refused')).toEqual([]);
    expect(template.ofType('AWS::SQS::Queue').flatMap((queue) => events.queues.list(template.arn(queue)))).toEqual([]);
  });
});
