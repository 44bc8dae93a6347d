import { describe, expect, it } from 'vitest';
import { probeAudio } from '../../functions/core/audio/probe';
import { flacHeader, oggOpusHeader, realWav, toneWav } from '../support/audio-fixtures';
import { refusal } from '../support/refusal';

const ALL = ['wav', 'flac', 'ogg'] as const;

describe('probeAudio', () => {
  it('reads a real 16 kHz mono recording exactly', () => {
    const bytes = realWav('cards/001.wav');
    const probe = probeAudio(bytes, 'audio/wav', ['wav']);
    expect(probe).toMatchObject({ format: 'wav', contentType: 'audio/wav', sampleRate: 16000, channels: 1 });
    // 35052 data bytes of 16-bit mono at 16 kHz
    expect(probe.duration).toBeCloseTo(35052 / 2 / 16000, 9);
  });

  it.each([
    [8000, 1, '16'],
    [44100, 2, '16'],
    [48000, 1, '24'],
    [22050, 2, '32'],
    [16000, 1, '32f'],
  ])('accepts %i Hz, %i channel(s), %s-bit', (sampleRate, channels, bitDepth) => {
    const probe = probeAudio(toneWav({ sampleRate, channels, bitDepth, seconds: 0.25 }), 'audio/x-wav', ['wav']);
    expect(probe).toMatchObject({ sampleRate, channels, extension: 'wav' });
    expect(probe.duration).toBeCloseTo(0.25, 3);
  });

  it('refuses a media type the transcription path cannot read with 415', () => {
    expect(refusal(() => probeAudio(toneWav(), 'audio/mpeg', ['wav'])).kind).toBe('unsupported_media_type');
    expect(refusal(() => probeAudio(flacHeader(16000, 1, 16000), 'audio/flac', ['wav'])).kind).toBe('unsupported_media_type');
    expect(refusal(() => probeAudio(toneWav(), undefined, ['wav'])).kind).toBe('unsupported_media_type');
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['not RIFF', Buffer.from('definitely not audio, just some words in a body')],
    ['header only', realWav().subarray(0, 30)],
    ['truncated data', realWav().subarray(0, 1000)],
    ['8-bit samples', toneWav({ bitDepth: '8' })],
    ['6 kHz', toneWav({ sampleRate: 6000 })],
    ['96 kHz', toneWav({ sampleRate: 96000, seconds: 0.05 })],
    ['three channels', toneWav({ channels: 3, seconds: 0.05 })],
  ])('refuses %s as invalid input', (_label, bytes) => {
    const error = refusal(() => probeAudio(bytes, 'audio/wav', ['wav']));
    expect(error.kind).toBe('invalid_input');
    expect(error.detail.length).toBeGreaterThan(0);
  });

  it('reads FLAC STREAMINFO', () => {
    const probe = probeAudio(flacHeader(44100, 2, 44100 * 3), 'audio/flac', ALL);
    expect(probe).toMatchObject({ format: 'flac', sampleRate: 44100, channels: 2, duration: 3 });
  });

  it('reads Ogg Opus length from the last granule position', () => {
    const probe = probeAudio(oggOpusHeader(1, 2.5), 'audio/ogg', ALL);
    expect(probe).toMatchObject({ format: 'ogg', channels: 1 });
    expect(probe.duration).toBeCloseTo(2.5, 6);
  });

  it('refuses bytes that do not match the declared type', () => {
    expect(refusal(() => probeAudio(toneWav(), 'audio/flac', ALL)).kind).toBe('invalid_input');
    expect(refusal(() => probeAudio(flacHeader(16000, 1, 100), 'audio/ogg', ALL)).kind).toBe('invalid_input');
  });
});
