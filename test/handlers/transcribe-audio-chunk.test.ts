/** S3 event keys arrive URL-encoded with "+" for spaces; the handler reads them back before parsing. */
import { describe, expect, it } from 'vitest';
import { parseAudioKey } from '../../functions/core/keys';
import { objectKeyOf } from '../../functions/handlers/transcribe-audio-chunk';
import { objectCreatedEvent } from '../../functions/local/object-notifications';

describe('objectKeyOf', () => {
  it.each([
    ['audio/session-456/12.wav', 'audio/session-456/12.wav'],
    ['audio/a%5Fb/3.wav', 'audio/a_b/3.wav'],
    ['audio/with+space/3.wav', 'audio/with space/3.wav'],
    ['audio/plus%2Bsign/3.wav', 'audio/plus+sign/3.wav'],
  ])('decodes %s as %s', (encoded, key) => {
    expect(objectKeyOf(encoded)).toBe(key);
  });

  it('answers null for broken percent-encoding instead of throwing', () => {
    expect(objectKeyOf('audio/%E0%A4%A/1.wav')).toBeNull();
  });

  it('reads back the key of the event the local store sends, ready for parseAudioKey', () => {
    const event = objectCreatedEvent({ key: 'audio/my_session-1/42.wav', size: 10, lastModified: new Date(0).toISOString() });
    const key = objectKeyOf(event.Records[0]!.s3.object.key);
    expect(parseAudioKey(key!)).toEqual({ sessionId: 'my_session-1', chunkId: '42', extension: 'wav' });
  });
});
