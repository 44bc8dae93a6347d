/**
 * The twin's event sources from a hand-written template fragment, invoking hand-written functions run by
 * the twin Lambda runtime in real child processes: S3 notification filters, Lambda's asynchronous
 * retries and failure destination, and EventBridge schedule rules.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cronMatches, queueFileOf, startEvents, type TwinEvents, TwinQueues } from '../../twin/events';
import { createFunctionRuntime, type FunctionRuntime, type InvokeResult } from '../../twin/lambda/runtime';
import { templateFromJson } from '../../twin/template';

const fn = () => ({
  Type: 'AWS::Lambda::Function',
  Properties: { Handler: 'index.handler', Runtime: 'nodejs24.x', Code: { ZipFile: 'x' } },
});
const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

const template = templateFromJson({
  Resources: {
    Data: { Type: 'AWS::S3::Bucket', Properties: {} },
    Failures: { Type: 'AWS::SQS::Queue', Properties: {} },
    Dead: { Type: 'AWS::SQS::Queue', Properties: {} },
    AudioFn: fn(),
    TextFn: fn(),
    TickFn: fn(),
    Notifications: {
      Type: 'Custom::S3BucketNotifications',
      Properties: {
        BucketName: { Ref: 'Data' },
        NotificationConfiguration: {
          LambdaFunctionConfigurations: [
            {
              Events: ['s3:ObjectCreated:*'],
              Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'audio/' }] } },
              LambdaFunctionArn: arnOf('AudioFn'),
            },
            {
              Events: ['s3:ObjectCreated:Put'],
              Filter: { Key: { FilterRules: [{ Name: 'suffix', Value: '.txt' }] } },
              LambdaFunctionArn: arnOf('TextFn'),
            },
          ],
        },
      },
    },
    AudioAsync: {
      Type: 'AWS::Lambda::EventInvokeConfig',
      Properties: {
        FunctionName: { Ref: 'AudioFn' },
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 3600,
        DestinationConfig: { OnFailure: { Destination: arnOf('Failures') } },
      },
    },
    TickAsync: {
      Type: 'AWS::Lambda::EventInvokeConfig',
      Properties: {
        FunctionName: { Ref: 'TickFn' },
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 0,
        DestinationConfig: { OnFailure: { Destination: arnOf('Failures') } },
      },
    },
    Tick: {
      Type: 'AWS::Events::Rule',
      Properties: {
        ScheduleExpression: 'rate(1 minute)',
        State: 'ENABLED',
        Targets: [
          {
            Arn: arnOf('TickFn'),
            Id: 'Target0',
            RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 60 },
            DeadLetterConfig: { Arn: arnOf('Dead') },
          },
        ],
      },
    },
    Disabled: {
      Type: 'AWS::Events::Rule',
      Properties: { ScheduleExpression: 'rate(1 minute)', State: 'DISABLED', Targets: [{ Arn: arnOf('TickFn'), Id: 'T' }] },
    },
    // Its constant input is over Lambda's asynchronous payload limit: Lambda refuses it, EventBridge dead-letters it.
    Oversized: {
      Type: 'AWS::Events::Rule',
      Properties: {
        ScheduleExpression: 'cron(0 3 * * ? *)',
        State: 'ENABLED',
        Targets: [
          {
            Arn: arnOf('TickFn'),
            Id: 'Big',
            Input: JSON.stringify({ pad: 'x'.repeat(1024 * 1024) }),
            DeadLetterConfig: { Arn: arnOf('Dead') },
          },
        ],
      },
    },
  },
});

const SOURCES: Record<string, string> = {
  // Fails for keys containing 'fail', counting its attempts in module state.
  AudioFn: `let attempts = 0; export const handler = async (event) => {
    attempts++; const key = event.Records[0].s3.object.key;
    if (key.includes('fail')) throw new RangeError('cannot transcribe ' + key);
    return { key, attempts, configurationId: event.Records[0].s3.configurationId };
  };`,
  TextFn: `export const handler = async (event) => event.Records[0].s3.object.key;`,
  TickFn: `export const handler = async (event) => { if (process.env.TICK_FAILS === 'yes') throw new Error('tick failed'); return event; };`,
};

const s3Record = (key: string, eventName = 'ObjectCreated:Put', bucket = template.physicalId('Data')) => ({
  eventVersion: '2.1',
  eventSource: 'aws:s3',
  awsRegion: 'us-east-1',
  eventTime: new Date().toISOString(),
  eventName,
  s3: {
    s3SchemaVersion: '1.0',
    configurationId: 'twin',
    bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` },
    object: { key, size: 4, eTag: 'abc' },
  },
});

const waitUntil = async (condition: () => boolean, what: string) => {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  if (!condition()) throw new Error(`never: ${what}`);
};

describe('twin events', () => {
  let dir: string;
  const runtimes = new Map<string, FunctionRuntime>();
  const calls: { fn: string; event: any; result: InvokeResult }[] = [];
  const invokeAsync = async (id: string, event: unknown) => {
    const result = await runtimes.get(id)!.invoke(event, { invocationType: 'Event' });
    calls.push({ fn: id, event, result });
    return result;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'twin-events-'));
    for (const [id, code] of Object.entries(SOURCES)) {
      const assetDir = join(dir, id);
      await mkdir(assetDir);
      await writeFile(join(assetDir, 'index.mjs'), code);
      runtimes.set(
        id,
        createFunctionRuntime({
          name: id,
          assetDir,
          handler: 'index.handler',
          environment: {},
          timeoutSeconds: 5,
          memoryMb: 128,
          log: () => {},
        }),
      );
    }
  });
  afterAll(async () => {
    await Promise.all([...runtimes.values()].map((runtime) => runtime.close()));
    await rm(dir, { recursive: true, force: true });
  });

  const start = (options: Partial<Parameters<typeof startEvents>[0]> = {}) =>
    startEvents({
      template,
      invokeAsync,
      queuesDir: join(dir, `queues-${Math.random().toString(36).slice(2)}`),
      retryDelaySeconds: 0.05,
      schedules: false,
      log: () => {},
      ...options,
    });

  describe('S3 notifications', () => {
    let events: TwinEvents;
    beforeAll(() => {
      events = start();
    });
    afterAll(() => events.close());

    it('invokes only the functions whose filters match the decoded key', async () => {
      calls.length = 0;
      expect(events.onObjectCreated(s3Record('audio/s1/1.wav'))).toEqual(['AudioFn']);
      expect(events.onObjectCreated(s3Record('audio/my+clip.txt'))).toEqual(['AudioFn', 'TextFn']);
      expect(events.onObjectCreated(s3Record('transcripts/s1/1.txt', 'ObjectCreated:Copy'))).toEqual([]);
      expect(events.onObjectCreated(s3Record('images/audio/1.wav'))).toEqual([]);
      expect(events.onObjectCreated(s3Record('audio/1.wav', 'ObjectCreated:CompleteMultipartUpload', 'another-bucket'))).toEqual([]);
      await events.settled();
      expect(calls.map((call) => call.fn).sort()).toEqual(['AudioFn', 'AudioFn', 'TextFn']);
      const text = calls.find((call) => call.fn === 'TextFn')!;
      // The function gets S3's event, key still encoded.
      expect(text.result).toMatchObject({ ok: true, result: 'audio/my+clip.txt' });
      expect(text.event.Records).toHaveLength(1);
    });

    it('retries a failing function, then puts the failure record in the on-failure queue', async () => {
      calls.length = 0;
      const failuresArn = template.arn('Failures');
      const before = events.queues.list(failuresArn).length;
      events.onObjectCreated(s3Record('audio/s1/fail.wav'));
      await events.settled();
      expect(calls.filter((call) => call.fn === 'AudioFn')).toHaveLength(3);
      const messages = events.queues.list(failuresArn);
      expect(messages).toHaveLength(before + 1);
      const record = JSON.parse(messages.at(-1)!.body);
      expect(record).toMatchObject({
        version: '1.0',
        requestContext: {
          requestId: calls[0]!.result.requestId,
          functionArn: `${template.arn('AudioFn')}:$LATEST`,
          condition: 'RetriesExhausted',
          approximateInvokeCount: 3,
        },
        requestPayload: { Records: [{ s3: { object: { key: 'audio/s1/fail.wav' } } }] },
        responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
        responsePayload: { errorType: 'RangeError', errorMessage: 'cannot transcribe audio/s1/fail.wav' },
      });
      expect(new Date(record.timestamp).toISOString()).toBe(record.timestamp);
      // The queue's file holds the same message, and a new TwinQueues reads it back.
      const lines = (await readFile(queueFileOf(events.queues.queuesDir, failuresArn), 'utf8')).trim().split('\n');
      expect(JSON.parse(lines.at(-1)!).body).toBe(messages.at(-1)!.body);
      expect(new TwinQueues(events.queues.queuesDir).list(failuresArn).at(-1)).toEqual(messages.at(-1));
      expect(events.stats()).toMatchObject({ retries: 2, failures: 1 });
    });
  });

  describe('schedule rules', () => {
    const isTick = (call: (typeof calls)[number]) => call.fn === 'TickFn' && call.event['detail-type'] === 'Scheduled Event';
    it('fires a Scheduled Event at the target every scheduleSeconds; disabled rules never fire', async () => {
      calls.length = 0;
      const events = start({ schedules: true, scheduleSeconds: 0.2 });
      try {
        await waitUntil(() => calls.filter(isTick).length >= 2, 'two scheduled events');
      } finally {
        await events.close();
        await events.settled();
      }
      const ticks = calls.filter(isTick);
      const ruleArn = template.arn('Tick');
      for (const tick of ticks) {
        expect(tick.result.ok).toBe(true);
        // What the function received, as it returned it.
        const event = (tick.result as { result: any }).result;
        expect(event).toEqual({
          version: '0',
          id: expect.stringMatching(/^[0-9a-f-]{36}$/),
          'detail-type': 'Scheduled Event',
          source: 'aws.events',
          account: '000000000000',
          time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
          region: 'us-east-1',
          resources: [ruleArn],
          detail: {},
        });
      }
      expect(ruleArn).toMatch(/^arn:aws:events:us-east-1:000000000000:rule\//);
      expect(new Set(ticks.map((tick) => (tick.event as any).id)).size).toBe(ticks.length);
      // The disabled rule is not wired; the cron rule is shortened too, but Lambda refuses its input.
      expect(calls.filter((call) => call.fn === 'TickFn' && !isTick(call)).every((call) => !call.result.ok && call.event.pad)).toBe(true);
    });

    it("applies the function's own async settings to a failing scheduled run", async () => {
      const failing = createFunctionRuntime({
        name: 'TickFn',
        assetDir: join(dir, 'TickFn'),
        handler: 'index.handler',
        environment: { TICK_FAILS: 'yes' },
        timeoutSeconds: 5,
        memoryMb: 128,
        log: () => {},
      });
      const original = runtimes.get('TickFn')!;
      runtimes.set('TickFn', failing);
      const events = start();
      try {
        calls.length = 0;
        events.fireRule('Tick');
        await events.settled();
        // MaximumRetryAttempts 0 on the function: one run, then the failure record.
        expect(calls).toHaveLength(1);
        const record = JSON.parse(events.queues.list(template.arn('Failures')).at(-1)!.body);
        expect(record.requestContext).toMatchObject({ condition: 'RetriesExhausted', approximateInvokeCount: 1 });
        expect(record.requestPayload['detail-type']).toBe('Scheduled Event');
        expect(events.queues.list(template.arn('Dead'))).toHaveLength(0);
      } finally {
        runtimes.set('TickFn', original);
        await failing.close();
        await events.close();
      }
    });

    it('dead-letters an event Lambda refuses, with the rule and the error as attributes', async () => {
      const events = start();
      try {
        calls.length = 0;
        events.fireRule('Oversized');
        await events.settled();
        expect(calls).toHaveLength(1);
        expect(calls[0]!.result).toMatchObject({ ok: false, errorType: 'RequestEntityTooLargeException' });
        const [letter] = events.queues.list(template.arn('Dead'));
        expect(letter!.attributes).toMatchObject({ RULE_ARN: template.arn('Oversized'), ERROR_CODE: 'RequestEntityTooLargeException' });
        expect(JSON.parse(letter!.body).pad).toHaveLength(1024 * 1024);
        expect(() => events.fireRule('Disabled')).toThrow(/no enabled schedule rule/);
      } finally {
        await events.close();
      }
    });

    it('dead-letters at once when the target function does not exist, without retrying', async () => {
      const attempts: string[] = [];
      const events = start({
        invokeAsync: async (id) => {
          attempts.push(id);
          return { ok: false, requestId: '', errorType: 'ResourceNotFoundException', errorMessage: `Function not found: ${id}` };
        },
      });
      try {
        const before = events.queues.list(template.arn('Dead')).length;
        events.fireRule('Tick');
        await events.settled();
        // A 4xx other than 429 is not retried by EventBridge, and Lambda never ran anything to retry.
        expect(attempts).toEqual(['TickFn']);
        const letters = events.queues.list(template.arn('Dead'));
        expect(letters).toHaveLength(before + 1);
        expect(letters.at(-1)!.attributes).toMatchObject({ ERROR_CODE: 'ResourceNotFoundException', TARGET_ARN: template.arn('TickFn') });
        expect(events.queues.list(template.arn('Failures'))).toHaveLength(0);
      } finally {
        await events.close();
      }
    });

    it('evaluates EventBridge cron expressions in UTC', () => {
      expect(cronMatches('cron(0 3 * * ? *)', new Date('2026-11-29T03:00:00Z'))).toBe(true);
      expect(cronMatches('cron(0 3 * * ? *)', new Date('2026-11-29T03:01:00Z'))).toBe(false);
      expect(cronMatches('cron(0/15 * ? * MON-FRI *)', new Date('2026-11-30T10:45:00Z'))).toBe(true); // a Monday
      expect(cronMatches('cron(0/15 * ? * MON-FRI *)', new Date('2026-11-29T10:45:00Z'))).toBe(false); // a Sunday
    });
  });
});
