/**
 * The warm pocketsphinx_batch recognizer on real recordings: results, queueing, a process that dies,
 * a decode that hangs, and a machine without pocketsphinx.
 */

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pcm16ToWav } from '../../../functions/adapters/transcriber/pcm';
import { PocketsphinxTranscriber } from '../../../functions/adapters/transcriber/pocketsphinx';
import { POCKETSPHINX_INSTALL_HINT } from '../../../functions/adapters/transcriber/pocketsphinx/installation';
import { parseCtm, parseHypothesis } from '../../../functions/adapters/transcriber/pocketsphinx/output';
import type { AudioForTranscription } from '../../../functions/core/ports/transcriber';
import { encodedSpeech, POCKETSPHINX_TEST_DATA, realWav } from '../../support/audio-fixtures';
import { asyncRefusal } from '../../support/refusal';
import { silentLogger } from '../../support/silent-logger';

const wavInput = (bytes: Uint8Array): AudioForTranscription => ({ bytes, format: 'wav', sampleRate: 16000, channels: 1, duration: 0 });

/** goforward.raw is headerless 16 kHz mono PCM; wrap it in the 44-byte header a WAV upload has. */
const rawAsWav = (path: string): Buffer => rawAsWavBytes(readFileSync(path));

const rawAsWavBytes = (data: Buffer): Buffer => pcm16ToWav(data, 16000);

describe('parsing the recognizer output', () => {
  it('reads the hypothesis of the right utterance, including an empty one', () => {
    const hyp = 'ten of clubs (u1 -4444)\n (u2 -120)\n';
    expect(parseHypothesis(hyp, 'u1')).toBe('ten of clubs');
    expect(parseHypothesis(hyp, 'u2')).toBe('');
    expect(parseHypothesis(hyp, 'u3')).toBeNull();
  });

  it('reads word timings and clamps posteriors to [0, 1]', () => {
    const ctm = 'u1 1 0.15 0.18 ten 0.276\nu1 1 0.34 0.10 of 1.2\nu2 1 0.00 0.50 other 0.5\n';
    expect(parseCtm(ctm, 'u1')).toEqual([
      { word: 'ten', start: 0.15, end: 0.33, confidence: 0.276 },
      { word: 'of', start: 0.34, end: 0.44, confidence: 1 },
    ]);
  });
});

describe('PocketsphinxTranscriber', () => {
  let transcriber: PocketsphinxTranscriber;

  beforeAll(() => {
    transcriber = new PocketsphinxTranscriber({ logger: silentLogger, warm: true });
  });

  afterAll(async () => {
    await transcriber?.close();
  });

  it('recognizes real speech with word timings, confidence, language and exact duration', async () => {
    const result = await transcriber.transcribe(wavInput(rawAsWav(`${POCKETSPHINX_TEST_DATA}/goforward.raw`)));
    expect(result.text).toBe('go forward ten meters');
    expect(result.words.map((word) => word.word)).toEqual(['go', 'forward', 'ten', 'meters']);
    for (const word of result.words) {
      expect(word.end).toBeGreaterThan(word.start);
      expect(word.confidence).toBeGreaterThanOrEqual(0);
      expect(word.confidence).toBeLessThanOrEqual(1);
    }
    const mean = result.words.reduce((sum, word) => sum + word.confidence, 0) / result.words.length;
    expect(result.confidence).toBeCloseTo(mean, 10);
    expect(result.language).toBe('en');
    expect(result.engine).toBe('pocketsphinx');
    expect(result.duration).toBe(89160 / 2 / 16000);
  });

  it('dates words from the start of the chunk, silence included', async () => {
    const speech = readFileSync(`${POCKETSPHINX_TEST_DATA}/goforward.raw`);
    const withSilence = rawAsWavBytes(Buffer.concat([Buffer.alloc(2 * 16000 * 2), speech]));
    const [plain, delayed] = [
      await transcriber.transcribe(wavInput(rawAsWavBytes(speech))),
      await transcriber.transcribe(wavInput(withSilence)),
    ];
    expect(delayed.text).toBe(plain.text);
    delayed.words.forEach((word, i) => expect(word.start - plain.words[i]!.start).toBeCloseTo(2, 1));
  });

  it('queues concurrent chunks on the one warm process and answers each with its own words', async () => {
    const pid = transcriber.processId;
    expect(pid).toBeTypeOf('number');
    const names = ['cards/004.wav', 'cards/003.wav', 'cards/005.wav'];
    const results = await Promise.all(names.map((name) => transcriber.transcribe(wavInput(realWav(name)))));
    expect(results.map((result) => result.text)).toEqual(['five five', 'seven of clubs', 'eight of spades four of clubs seven of hearts']);
    expect(transcriber.processId).toBe(pid);
  });

  it('replaces a recognizer that dies mid-decode and still answers the chunk', async () => {
    const pid = transcriber.processId!;
    const pending = transcriber.transcribe(wavInput(realWav('cards/004.wav')));
    process.kill(pid, 'SIGKILL');
    expect((await pending).text).toBe('five five');
    expect(transcriber.processId).not.toBe(pid);
    expect(transcriber.processId).toBeTypeOf('number');
  });

  it('refuses audio it cannot decode as invalid input without disturbing the process', async () => {
    const pid = transcriber.processId;
    const failure = await asyncRefusal(transcriber.transcribe(wavInput(realWav('cards/001.wav').subarray(0, 20))));
    expect(failure.kind).toBe('invalid_input');
    expect(transcriber.processId).toBe(pid);
  });
});

describe('a decode that does not finish in time', () => {
  it('is answered 503, the process is killed, and the next chunk gets a fresh one', async () => {
    let deadlineMs = 1;
    const transcriber = new PocketsphinxTranscriber({ logger: silentLogger, warm: true, decodeTimeoutMs: () => deadlineMs });
    try {
      const failure = await asyncRefusal(transcriber.transcribe(wavInput(realWav('cards/005.wav'))));
      expect(failure.kind).toBe('dependency_unavailable');
      expect(failure.message).toBe('Transcription timed out');
      deadlineMs = 60_000;
      expect((await transcriber.transcribe(wavInput(realWav('cards/004.wav')))).text).toBe('five five');
    } finally {
      await transcriber.close();
    }
  });
});

describe('without pocketsphinx installed', () => {
  it('constructs, starts nothing, and answers 503 with how to install it', async () => {
    const transcriber = new PocketsphinxTranscriber({ logger: silentLogger, warm: true, command: 'pocketsphinx_batch_not_installed' });
    expect(transcriber.installed()).toBe(false);
    expect(transcriber.processId).toBeUndefined();
    const failure = await asyncRefusal(transcriber.transcribe(wavInput(realWav('cards/001.wav'))));
    expect(failure.kind).toBe('dependency_unavailable');
    expect(failure.detail).toBe(POCKETSPHINX_INSTALL_HINT);
    expect(failure.detail).toContain('apt-get install -y pocketsphinx pocketsphinx-en-us');
    await transcriber.close();
  });

  it('treats a missing acoustic model the same way', () => {
    const transcriber = new PocketsphinxTranscriber({ logger: silentLogger, modelDir: '/nonexistent/model' });
    expect(transcriber.installed()).toBe(false);
  });
});

describe('closing', () => {
  it('stops the process and refuses later work', async () => {
    const transcriber = new PocketsphinxTranscriber({ logger: silentLogger, warm: true });
    const pid = transcriber.processId!;
    await transcriber.close();
    expect(() => process.kill(pid, 0)).toThrow();
    expect((await asyncRefusal(transcriber.transcribe(wavInput(realWav('cards/001.wav'))))).kind).toBe('dependency_unavailable');
  });

  it('answers the chunk in flight and those queued rather than leaving them hanging', async () => {
    const transcriber = new PocketsphinxTranscriber({ logger: silentLogger, warm: true });
    const inFlight = asyncRefusal(transcriber.transcribe(wavInput(realWav('cards/005.wav'))));
    const queued = asyncRefusal(transcriber.transcribe(wavInput(realWav('cards/004.wav'))));
    await transcriber.close();
    expect((await inFlight).detail).toBe('The recognizer is shutting down');
    expect((await queued).detail).toBe('The recognizer is shutting down');
  });
});

describe('work directories', () => {
  it('removes those of services that were killed outright, and keeps live ones', async () => {
    const dead = spawnSync('true').pid!;
    const abandoned = mkdtempSync(join(tmpdir(), 'interview-ops-pocketsphinx-'));
    writeFileSync(join(abandoned, 'owner.pid'), String(dead));
    const live = mkdtempSync(join(tmpdir(), 'interview-ops-pocketsphinx-'));
    writeFileSync(join(live, 'owner.pid'), String(process.pid));
    try {
      const transcriber = new PocketsphinxTranscriber({ logger: silentLogger });
      expect(existsSync(abandoned)).toBe(false);
      expect(existsSync(live)).toBe(true);
      await transcriber.close();
    } finally {
      rmSync(abandoned, { recursive: true, force: true });
      rmSync(live, { recursive: true, force: true });
    }
  });
});

describe('compressed uploads, decoded by ffmpeg', () => {
  const source = `${POCKETSPHINX_TEST_DATA}/cards/002.wav`;

  it.each(['flac', 'ogg', 'webm', 'mp4'] as const)(
    'recognizes %s as it recognizes the WAV it was made from',
    { timeout: 60_000 },
    async (format) => {
      const transcriber = new PocketsphinxTranscriber({ logger: silentLogger });
      try {
        const fromWav = await transcriber.transcribe(wavInput(readFileSync(source)));
        const encoded = await transcriber.transcribe({
          bytes: encodedSpeech(format, source),
          format,
          sampleRate: 16000,
          channels: 1,
          duration: 0,
        });
        // FLAC is lossless: the same samples, the same words. The lossy codecs keep enough of them.
        if (format === 'flac') expect(encoded.text).toBe(fromWav.text);
        const wavWords = new Set(fromWav.text.split(' '));
        const kept = encoded.text.split(' ').filter((word) => wavWords.has(word)).length;
        expect(kept).toBeGreaterThanOrEqual(Math.ceil(wavWords.size * 0.5));
      } finally {
        await transcriber.close();
      }
    },
  );

  it('refuses bytes ffmpeg cannot decode with a 400 that names no path', async () => {
    const transcriber = new PocketsphinxTranscriber({ logger: silentLogger });
    try {
      const failure = await asyncRefusal(
        transcriber.transcribe({ bytes: Buffer.from('not a webm at all'), format: 'webm', sampleRate: 48000, channels: 1, duration: 1 }),
      );
      expect(failure).toMatchObject({ kind: 'invalid_input', detail: 'The audio could not be decoded' });
    } finally {
      await transcriber.close();
    }
  });
});
