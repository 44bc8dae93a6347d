/**
 * WAV decoding and conversion to 16 kHz mono: exact where it can be, band-limited where it resamples.
 */
import { describe, expect, it } from 'vitest';
import wavefile from 'wavefile';
import { decodeWav, int16LittleEndianBytes, pcm16ToWav, resample, wavToPcm16Mono } from '../../../functions/adapters/transcriber/pcm';
import { realWav } from '../../support/audio-fixtures';
import { refusal } from '../../support/refusal';

const tone = (hz: number, rate: number, seconds = 1, amplitude = 0.5) =>
  Float64Array.from({ length: Math.round(rate * seconds) }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / rate));

/** RMS away from the ends, where any filter sees zeros beyond the signal. */
const rms = (x: ArrayLike<number>, margin = 1000) => {
  let sum = 0;
  for (let i = margin; i < x.length - margin; i++) sum += x[i]! ** 2;
  return Math.sqrt(sum / (x.length - 2 * margin));
};
const decibels = (ratio: number) => 20 * Math.log10(ratio);

const wavOf = (channels: number[][], rate: number, bitDepth: string) => {
  const wave = new wavefile.WaveFile();
  wave.fromScratch(channels.length, rate, bitDepth, channels.length === 1 ? channels[0]! : channels);
  return wave.toBuffer();
};

describe('decodeWav', () => {
  const ints = [0, 1000, -1000, 32767, -32768];

  it.each([
    ['16', 1, ints, ints.map((v) => v / 32768)],
    ['24', 1, ints.map((v) => v * 256), ints.map((v) => v / 32768)],
    ['32', 1, ints.map((v) => v * 65536), ints.map((v) => v / 32768)],
    ['32f', 1, [0, 0.5, -0.25, 0.999], [0, 0.5, -0.25, 0.999]],
    ['64', 1, [0, 0.5, -0.25, 0.999], [0, 0.5, -0.25, 0.999]],
  ])('reads %s-bit samples as floats in [-1, 1)', (bitDepth, _channels, stored, expected) => {
    const decoded = decodeWav(wavOf([stored], 16000, bitDepth));
    expect(decoded.channels).toHaveLength(1);
    expected.forEach((value, i) => expect(decoded.channels[0]![i]).toBeCloseTo(value, 6));
    expect(decoded.duration).toBeCloseTo(stored.length / 16000, 12);
  });

  it('keeps stereo channels apart', () => {
    const decoded = decodeWav(
      wavOf(
        [
          [1000, 2000],
          [-1000, -2000],
        ],
        22050,
        '16',
      ),
    );
    expect(Array.from(decoded.channels[0]!)).toEqual([1000 / 32768, 2000 / 32768]);
    expect(Array.from(decoded.channels[1]!)).toEqual([-1000 / 32768, -2000 / 32768]);
  });

  it.each([
    ['zero bytes', new Uint8Array(0)],
    ['a truncated header', realWav('cards/001.wav').subarray(0, 30)],
    ['text', new TextEncoder().encode('definitely not a RIFF file at all, just words')],
    ['8-bit samples', wavOf([[100, 200, 50]], 16000, '8')],
  ])('refuses %s as invalid input', (_label, bytes) => {
    expect(refusal(() => decodeWav(bytes)).kind).toBe('invalid_input');
  });
});

describe('wavToPcm16Mono', () => {
  it('passes 16 kHz mono 16-bit audio through bit for bit', () => {
    const bytes = realWav('cards/001.wav');
    const pcm = wavToPcm16Mono(bytes, 16000);
    const header = 44;
    const original = new Int16Array(bytes.buffer.slice(bytes.byteOffset + header, bytes.byteOffset + bytes.length));
    expect(pcm.sampleRate).toBe(16000);
    expect(Array.from(pcm.samples)).toEqual(Array.from(original));
    expect(pcm.duration).toBeCloseTo(original.length / 16000, 12);
  });

  it('mixes identical stereo channels back to the exact mono samples', () => {
    const mono = Array.from({ length: 4000 }, (_, i) => Math.round(8000 * Math.sin(i / 7)) + 0);
    const pcm = wavToPcm16Mono(wavOf([mono, mono], 16000, '16'), 16000);
    expect(Array.from(pcm.samples)).toEqual(mono);
  });

  it('turns 24-bit and float audio at 16 kHz into the same 16-bit samples', () => {
    const mono = Array.from({ length: 2000 }, (_, i) => Math.round(8000 * Math.sin(i / 5)) + 0);
    const from24 = wavToPcm16Mono(wavOf([mono.map((v) => v * 256)], 16000, '24'), 16000);
    const fromFloat = wavToPcm16Mono(wavOf([mono.map((v) => v / 32768)], 16000, '32f'), 16000);
    expect(Array.from(from24.samples)).toEqual(mono);
    expect(Array.from(fromFloat.samples)).toEqual(mono);
  });

  it('reports the duration from the original header, not the resampled length', () => {
    const pcm = wavToPcm16Mono(wavOf([Array.from(tone(440, 44100, 0.5), (v) => Math.round(v * 32767))], 44100, '16'), 16000);
    expect(pcm.duration).toBe(22050 / 44100);
    expect(pcm.samples.length).toBe(8000);
  });
});

describe('resample', () => {
  it.each([
    [1000, 44100],
    [5000, 44100],
    [6500, 48000],
    [3000, 22050],
    [1000, 8000],
    [3000, 8000],
  ])('keeps a %i Hz tone from %i Hz to 16 kHz within 60 dB of the ideal', (hz, fromRate) => {
    const converted = resample(tone(hz, fromRate), fromRate, 16000);
    const ideal = tone(hz, 16000);
    expect(converted.length).toBe(ideal.length);
    const error = ideal.map((value, i) => converted[i]! - value);
    expect(decibels(rms(ideal) / rms(error))).toBeGreaterThan(60);
  });

  it.each([
    [9000, 44100],
    [12000, 48000],
    [20000, 44100],
  ])('removes a %i Hz tone (above the new Nyquist) when going from %i Hz to 16 kHz', (hz, fromRate) => {
    const input = tone(hz, fromRate);
    expect(decibels(rms(resample(input, fromRate, 16000)) / rms(input))).toBeLessThan(-70);
  });

  it('adds no image above 4 kHz when upsampling 8 kHz audio', () => {
    // A 3 kHz tone at 8 kHz would image at 5 kHz; compare against the pure tone at 16 kHz.
    const converted = resample(tone(3000, 8000), 8000, 16000);
    const residual = tone(3000, 16000).map((value, i) => converted[i]! - value);
    expect(decibels(rms(residual) / 0.5)).toBeLessThan(-60);
  });

  it('round-trips 16 kHz → 44.1 kHz → 16 kHz to within 16-bit precision on real speech', () => {
    const pcm = wavToPcm16Mono(realWav('cards/002.wav'), 16000);
    const speech = Float64Array.from(pcm.samples, (v) => v / 32768);
    const back = resample(resample(speech, 16000, 44100), 44100, 16000);
    // Speech carries energy up to 8 kHz; the band above 7.5 kHz is where the filters roll off.
    const error = speech.map((value, i) => back[i]! - value);
    expect(decibels(rms(speech) / rms(error))).toBeGreaterThan(25);
  });

  it('leaves audio at the target rate untouched', () => {
    const input = tone(440, 16000, 0.1);
    expect(resample(input, 16000, 16000)).toBe(input);
  });
});

describe('pcm16ToWav', () => {
  it('wraps raw 16-bit PCM in a header the decoder reads back sample for sample', () => {
    const samples = Int16Array.from({ length: 800 }, (_, i) => ((i * 977) % 65536) - 32768);
    const wav = pcm16ToWav(int16LittleEndianBytes(samples), 8000, 2);
    const decoded = decodeWav(wav);
    expect(decoded.sampleRate).toBe(8000);
    expect(decoded.channels).toHaveLength(2);
    expect(decoded.duration).toBeCloseTo(400 / 8000, 9);
    expect(Math.round(decoded.channels[0]![1]! * 32768)).toBe(samples[2]);
    expect(Math.round(decoded.channels[1]![0]! * 32768)).toBe(samples[1]);
  });
});
