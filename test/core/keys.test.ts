import { describe, expect, it } from 'vitest';
import * as keys from '../../functions/core/keys';
import {
  audioKeyFor,
  parseAudioKey,
  snapshotDayPrefixFor,
  snapshotIdFor,
  snapshotIdFromKey,
  snapshotInstantOf,
  snapshotKeyFor,
  transcriptKeyFor,
} from '../../functions/core/keys';
import { snapshotTimestamp, snapshotTimestampOfKey } from '../../functions/core/snapshots/snapshot-document';

describe('key layout', () => {
  it('puts transcripts under the session, named {session_id}_{chunk_id}.txt', () => {
    expect(transcriptKeyFor('session-456', '123')).toBe('transcripts/session-456/session-456_123.txt');
  });

  it('round-trips audio keys and refuses anything else', () => {
    const key = audioKeyFor('s_1', '42', 'wav');
    expect(key).toBe('audio/s_1/42.wav');
    expect(parseAudioKey(key)).toEqual({ sessionId: 's_1', chunkId: '42', extension: 'wav' });
    expect(parseAudioKey('audio/../42.wav')).toBeNull();
    expect(parseAudioKey('audio/s/42.mp3')).toBeNull();
    expect(parseAudioKey('transcripts/s/42.wav')).toBeNull();
  });

  it('names a snapshot by Unix seconds and files it by the same UTC instant', () => {
    const instant = new Date('2024-01-01T12:00:00Z');
    const id = snapshotIdFor(instant);
    expect(id).toBe('snapshot_1704110400');
    expect(snapshotKeyFor(id)).toBe('snapshots/snapshot_20240101_120000.json');
    expect(snapshotInstantOf(id).toISOString()).toBe('2024-01-01T12:00:00.000Z');
    expect(snapshotIdFromKey('snapshots/snapshot_20240101_120000.json')).toBe(id);
    expect(snapshotDayPrefixFor(instant)).toBe('snapshots/snapshot_20240101');
  });

  it('reads the seed timestamp off a snapshot key as formatting its instant gives it', () => {
    for (const iso of ['2001-09-09T01:46:40Z', '2024-02-29T23:59:59Z', '2026-11-26T04:05:06Z', '2286-11-20T17:46:39Z']) {
      const id = snapshotIdFor(new Date(iso));
      expect(snapshotTimestampOfKey(snapshotKeyFor(id))).toBe(snapshotTimestamp(snapshotInstantOf(id)));
      expect(snapshotTimestampOfKey(snapshotKeyFor(id))).toBe(iso);
    }
  });

  it('drops sub-second precision so the id and the key name the same second', () => {
    expect(snapshotIdFor(new Date('2024-01-01T12:00:00.999Z'))).toBe('snapshot_1704110400');
  });

  it('refuses snapshot keys that are not a real instant', () => {
    expect(snapshotIdFromKey('snapshots/snapshot_20240231_120000.json')).toBeNull();
    expect(snapshotIdFromKey('snapshots/snapshot_20240101_120000.json.tmp')).toBeNull();
    expect(snapshotIdFromKey('snapshots/snapshot_20240101_126000.json')).toBeNull();
    // Outside the ten digits of Unix seconds that a snapshot id has.
    expect(snapshotIdFromKey('snapshots/snapshot_19690101_120000.json')).toBeNull();
    expect(snapshotIdFromKey('snapshots/snapshot_00500101_120000.json')).toBeNull();
    expect(snapshotIdFromKey('snapshots/snapshot_29990101_120000.json')).toBeNull();
    expect(() => snapshotKeyFor('snapshot_12')).toThrow(RangeError);
  });
});

describe('per-session object kinds', () => {
  it('registers every top-level key prefix (ending in /) but the snapshots ones, so erasure, holds and retention cover a new one', () => {
    const prefixes = Object.entries(keys)
      .filter(([name, value]) => name.endsWith('_PREFIX') && typeof value === 'string' && value.endsWith('/'))
      .map(([, value]) => value as string);
    const sharedAcrossSessions = [keys.SNAPSHOTS_PREFIX, keys.SNAPSHOT_SEGMENTS_PREFIX];
    expect(prefixes.filter((prefix) => !sharedAcrossSessions.includes(prefix)).sort()).toEqual([...keys.SESSION_OBJECT_PREFIXES].sort());
  });

  it('reads the session back out of a key of each kind, and nothing out of other keys', () => {
    for (const kind of keys.sessionObjectKinds) {
      const prefix = keys.sessionObjectPrefixFor(kind, 's-1');
      expect(keys.sessionIdOfKey(kind, `${prefix}x.bin`)).toBe('s-1');
      expect(keys.sessionIdOfKey(kind, prefix.slice(0, -1))).toBeNull();
    }
    expect(keys.sessionIdOfKey('audio', 'transcripts/s-1/s-1_1.txt')).toBeNull();
    expect(keys.sessionIdOfKey('audio', 'audio/../x/1.wav')).toBeNull();
  });
});
