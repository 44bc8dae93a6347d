/** The wiring module picks adapters from settings alone; no network, no AWS. */
import { describe, expect, it } from 'vitest';
import { AwsTranscribeTranscriber } from '../functions/adapters/aws-transcribe-transcriber';
import { AWS_TRANSCRIBE_FORMATS, runsMigrationsAtStart, transcriberEngineFor } from '../functions/config';
import { readSettings } from '../functions/settings';

describe('wiring', () => {
  it('declares the formats the Transcribe adapter reads without loading it', () => {
    expect([...AWS_TRANSCRIBE_FORMATS]).toEqual([...new AwsTranscribeTranscriber({ languageCode: 'en-US' }).acceptedFormats]);
  });

  it('uses pocketsphinx and migrates at start locally, Transcribe and the deploy trigger on Lambda', () => {
    const local = readSettings({});
    expect(transcriberEngineFor(local)).toBe('pocketsphinx');
    expect(runsMigrationsAtStart(local)).toBe(true);
    const lambda = readSettings({ AWS_LAMBDA_FUNCTION_NAME: 'fn' });
    expect(transcriberEngineFor(lambda)).toBe('aws-transcribe');
    expect(runsMigrationsAtStart(lambda)).toBe(false);
    expect(transcriberEngineFor(readSettings({ AWS_LAMBDA_FUNCTION_NAME: 'fn', TRANSCRIBER: 'pocketsphinx' }))).toBe('pocketsphinx');
  });

  it('refuses bad settings with a message naming each one', () => {
    expect(() => readSettings({ PORT: 'eighty', SNAPSHOT_INTERVAL_SECONDS: '-1' })).toThrow(/PORT: .*; SNAPSHOT_INTERVAL_SECONDS: /);
  });
});
