/**
 * The twin's event sources, wired as the template says:
 *
 * - S3 notifications (Custom::S3BucketNotifications, or a bucket's own NotificationConfiguration): an
 *   ObjectCreated record invokes each matching function asynchronously.
 * - EventBridge schedule rules (AWS::Events::Rule with a ScheduleExpression): each period, a Scheduled
 *   Event to every target. The target's RetryPolicy and DeadLetterConfig cover the delivery to Lambda (a
 *   refused Invoke call); once Lambda has accepted the event, the function's own async settings apply.
 * - Lambda's asynchronous invocation (AWS::Lambda::EventInvokeConfig): a failed run is retried after a
 *   delay (AWS: about 1 then 2 minutes; here retryDelaySeconds, doubling), up to MaximumRetryAttempts and
 *   within MaximumEventAgeInSeconds, and then the destination record goes to DestinationConfig.OnFailure.
 * - Queues (SQS destinations and dead-letter queues): TwinQueues, in memory and as JSON lines on disk.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InvokeResult } from './lambda/runtime';
import type { TwinTemplate } from './template';

// ---- queues -----------------------------------------------------------------------------------------------

export interface QueueMessage {
  messageId: string;
  /** The message body as SQS would hold it (the JSON text of a record or event). */
  body: string;
  /** Epoch milliseconds. */
  sentTimestamp: number;
  /** SQS message attributes (dead-letter messages from EventBridge carry RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE). */
  attributes?: Record<string, string>;
}

/** The file a queue's messages are appended to: <queuesDir>/<queue name>.jsonl. */
export const queueFileOf = (queuesDir: string, queueArn: string) =>
  join(
    queuesDir,
    `${queueArn
      .split(':')
      .pop()!
      .replace(/[^\w.-]/g, '_')}.jsonl`,
  );

export class TwinQueues {
  private readonly messages = new Map<string, QueueMessage[]>();
  private readonly listeners = new Set<(queueArn: string, message: QueueMessage) => void>();

  constructor(readonly queuesDir: string) {
    mkdirSync(queuesDir, { recursive: true });
  }

  /** Messages of a queue, oldest first; on first use, what an earlier run left in its file too. */
  list(queueArn: string): QueueMessage[] {
    return [...this.load(queueArn)];
  }

  send(queueArn: string, body: string, attributes?: Record<string, string>): QueueMessage {
    const message: QueueMessage = { messageId: randomUUID(), body, sentTimestamp: Date.now(), ...(attributes ? { attributes } : {}) };
    this.load(queueArn).push(message);
    appendFileSync(queueFileOf(this.queuesDir, queueArn), `${JSON.stringify(message)}\n`);
    for (const listener of this.listeners) listener(queueArn, message);
    return message;
  }

  /** Called for every message sent; returns the unsubscribe function. */
  onMessage(listener: (queueArn: string, message: QueueMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private load(queueArn: string): QueueMessage[] {
    let list = this.messages.get(queueArn);
    if (!list) {
      const file = queueFileOf(this.queuesDir, queueArn);
      list = existsSync(file)
        ? readFileSync(file, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line) as QueueMessage)
        : [];
      this.messages.set(queueArn, list);
    }
    return list;
  }
}

// ---- asynchronous invocation -----------------------------------------------------------------------------

export interface AsyncInvokeConfig {
  maximumRetryAttempts: number;
  maximumEventAgeSeconds: number;
  onFailure?: string;
  onSuccess?: string;
}

/** Lambda's defaults for a function without an EventInvokeConfig: 2 retries, 6 hours. */
const DEFAULT_ASYNC_CONFIG: AsyncInvokeConfig = { maximumRetryAttempts: 2, maximumEventAgeSeconds: 21_600 };

/** The record Lambda sends to an asynchronous invocation's destination. */
export interface DestinationRecord {
  version: '1.0';
  timestamp: string;
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: 'Success' | 'RetriesExhausted' | 'EventAgeExceeded';
    approximateInvokeCount: number;
  };
  requestPayload: unknown;
  responseContext?: { statusCode: number; executedVersion: string; functionError?: string };
  responsePayload?: unknown;
}

export interface EventsOptions {
  template: TwinTemplate;
  /** Runs a function once as an asynchronous ('Event') invocation and resolves with its outcome. */
  /** `requestId`, on a retry: the first attempt's, which Lambda's retries of one event keep. */
  invokeAsync(functionLogicalId: string, event: unknown, requestId?: string): Promise<InvokeResult>;
  queuesDir: string;
  /** The first retry's delay; each later one doubles it (AWS: about 60, then 120). A list sets each delay. */
  retryDelaySeconds?: number | number[];
  /** Every schedule rule fires at this period instead of its own (tests, `npm run twin`). */
  scheduleSeconds?: number;
  /** Start the schedule rules (default true). */
  schedules?: boolean;
  /** One line per notable thing (failures, dead letters); default: stderr. */
  log?: (line: string) => void;
}

/** The parts of an S3 event record (aws-lambda's S3EventRecord) the routing reads; the whole record is delivered. */
export interface S3EventRecordLike {
  eventName: string;
  s3: { bucket: { name: string }; object: { key: string }; configurationId?: string };
}

export interface TwinEvents {
  /** Delivers an S3 record to every matching notification target; returns the logical ids of the functions it went to. */
  onObjectCreated(record: S3EventRecordLike): string[];
  /** Fires a schedule rule now, as its schedule would (rule logical id). */
  fireRule(ruleLogicalId: string): void;
  /** An AWS service's event on the default bus (e.g. Transcribe's job state change): delivered to every rule whose pattern matches. */
  putServiceEvent(event: { source: string; 'detail-type': string; detail: Record<string, unknown> }): string[];
  queues: TwinQueues;
  /** Resolves when no asynchronous invocation, retry or delivery is in flight. */
  settled(): Promise<void>;
  stats(): { asyncInvocations: number; retries: number; failures: number; scheduledEvents: number };
  close(): Promise<void>;
}

interface NotificationTarget {
  bucket: string;
  configurationId: string;
  events: string[];
  prefix?: string;
  suffix?: string;
  functionLogicalId: string;
}

interface ScheduleRule {
  logicalId: string;
  arn: string;
  expression: string;
  targets: {
    id: string;
    functionLogicalId: string;
    input?: unknown;
    maximumRetryAttempts: number;
    maximumEventAgeSeconds: number;
    deadLetterArn?: string;
    arn: string;
  }[];
}

const asArray = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** A schedule expression's period in ms: rate(5 minutes); cron(...) → one minute (cron is evaluated minute by minute). */
export const periodOf = (expression: string): number | 'cron' => {
  const rate = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
  if (rate) {
    const unit = rate[2]!.startsWith('minute') ? 60_000 : rate[2]!.startsWith('hour') ? 3_600_000 : 86_400_000;
    return Number(rate[1]) * unit;
  }
  if (/^cron\(.+\)$/.test(expression.trim())) return 'cron';
  throw new Error(`unsupported schedule expression ${expression}`);
};

/** Whether a 6-field EventBridge cron (minutes hours day-of-month month day-of-week year) matches this UTC minute. */
export const cronMatches = (expression: string, at: Date): boolean => {
  const fields = /^cron\((.+)\)$/.exec(expression.trim())?.[1]?.trim().split(/\s+/);
  if (!fields || fields.length !== 6) throw new Error(`bad cron expression ${expression}`);
  const months = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
  const days = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
  const field = (text: string, value: number, min: number, max: number, names: string[] = [], nameBase = 1): boolean => {
    if (text === '*' || text === '?') return true;
    return text.split(',').some((part) => {
      const [range, stepText] = part.split('/') as [string, string?];
      const step = stepText ? Number(stepText) : 1;
      const number = (token: string) => {
        const named = names.indexOf(token.toUpperCase());
        return named >= 0 ? named + nameBase : Number(token);
      };
      let from: number;
      let to: number;
      if (range === '*') [from, to] = [min, max];
      else if (range.includes('-')) [from, to] = range.split('-').map(number) as [number, number];
      else [from, to] = [number(range), stepText ? max : number(range)];
      return value >= from && value <= to && (value - from) % step === 0;
    });
  };
  const [minute, hour, dom, month, dow, year] = fields as [string, string, string, string, string, string];
  return (
    field(minute, at.getUTCMinutes(), 0, 59) &&
    field(hour, at.getUTCHours(), 0, 23) &&
    field(dom, at.getUTCDate(), 1, 31) &&
    field(month, at.getUTCMonth() + 1, 1, 12, months) &&
    // EventBridge numbers days of the week 1 (SUN) to 7 (SAT).
    field(dow, at.getUTCDay() + 1, 1, 7, days) &&
    field(year, at.getUTCFullYear(), 1970, 2199)
  );
};

/**
 * Lambda did not take the event at all: the Invoke call itself failed (payload too large, throttled, no
 * such function). A function's own error always carries a trace; these refusals do not.
 */
const isRefusal = (result: InvokeResult): result is Extract<InvokeResult, { ok: false }> =>
  !result.ok &&
  (result.tooLarge === true ||
    result.throttled === true ||
    (result.errorType === 'ResourceNotFoundException' && result.trace === undefined));

const eventTime = (date: Date) => `${date.toISOString().slice(0, 19)}Z`;

const matchesEvent = (patterns: string[], eventName: string) =>
  patterns.some((pattern) => {
    const wanted = pattern.replace(/^s3:/, '');
    return wanted.endsWith('*') ? eventName.startsWith(wanted.slice(0, -1)) : eventName === wanted;
  });

/** S3 event keys are URL-encoded with '+' for spaces; filters compare against the key itself. */
const decodeEventKey = (key: string) => {
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    return key;
  }
};

export const startEvents = (options: EventsOptions): TwinEvents => {
  const { template } = options;
  const log = options.log ?? ((line: string) => process.stderr.write(`[events] ${line}\n`));
  const queues = new TwinQueues(options.queuesDir);
  const delays = options.retryDelaySeconds ?? 60;
  const delayMs = (retry: number) =>
    1000 * (Array.isArray(delays) ? (delays[Math.min(retry - 1, delays.length - 1)] ?? 60) : delays * 2 ** (retry - 1));
  const counters = { asyncInvocations: 0, retries: 0, failures: 0, scheduledEvents: 0 };
  let closed = false;

  const functionIdOf = (value: unknown): string | undefined => {
    if (typeof value !== 'string') return undefined;
    const id = template.logicalIdOf(value) ?? template.logicalIdOf(value.replace(/:\$LATEST$/, ''));
    return id && template.resources[id]?.Type === 'AWS::Lambda::Function' ? id : undefined;
  };

  // ---- what the template wires ----
  const asyncConfigs = new Map<string, AsyncInvokeConfig>();
  for (const id of template.ofType('AWS::Lambda::EventInvokeConfig')) {
    const p = template.resources[id]!.Properties;
    if (p.Qualifier !== undefined && p.Qualifier !== '$LATEST') continue;
    const fnId = functionIdOf(p.FunctionName);
    if (!fnId) continue;
    asyncConfigs.set(fnId, {
      maximumRetryAttempts: p.MaximumRetryAttempts ?? DEFAULT_ASYNC_CONFIG.maximumRetryAttempts,
      maximumEventAgeSeconds: p.MaximumEventAgeInSeconds ?? DEFAULT_ASYNC_CONFIG.maximumEventAgeSeconds,
      onFailure: p.DestinationConfig?.OnFailure?.Destination,
      onSuccess: p.DestinationConfig?.OnSuccess?.Destination,
    });
  }

  const notifications: NotificationTarget[] = [];
  const addNotification = (bucket: string, index: number, config: any, functionArn: unknown, events: string[], rules: any[]) => {
    const functionLogicalId = functionIdOf(functionArn);
    if (!functionLogicalId) return log(`notification of ${bucket} names no function of the template: ${String(functionArn)}`);
    const rule = (name: string) => rules.find((r) => String(r.Name).toLowerCase() === name)?.Value as string | undefined;
    notifications.push({
      bucket,
      configurationId: config.Id ?? `twin-notification-${index}`,
      events,
      prefix: rule('prefix'),
      suffix: rule('suffix'),
      functionLogicalId,
    });
  };
  for (const id of template.ofType('Custom::S3BucketNotifications')) {
    const p = template.resources[id]!.Properties;
    asArray(p.NotificationConfiguration?.LambdaFunctionConfigurations).forEach((config: any, index) =>
      addNotification(
        String(p.BucketName),
        index,
        config,
        config.LambdaFunctionArn,
        asArray(config.Events),
        asArray(config.Filter?.Key?.FilterRules),
      ),
    );
  }
  for (const id of template.ofType('AWS::S3::Bucket')) {
    const p = template.resources[id]!.Properties;
    asArray(p.NotificationConfiguration?.LambdaConfigurations).forEach((config: any, index) =>
      addNotification(template.physicalId(id), index, config, config.Function, [config.Event], asArray(config.Filter?.S3Key?.Rules)),
    );
  }

  const rules: ScheduleRule[] = [];
  const patternRules: (ScheduleRule & { pattern: Record<string, unknown> })[] = [];
  for (const id of template.ofType('AWS::Events::Rule')) {
    const p = template.resources[id]!.Properties;
    if ((!p.ScheduleExpression && !p.EventPattern) || (p.State ?? 'ENABLED') !== 'ENABLED') continue;
    const targets: ScheduleRule['targets'] = [];
    for (const target of asArray<any>(p.Targets)) {
      const functionLogicalId = functionIdOf(target.Arn);
      if (!functionLogicalId) {
        log(`rule ${id}: target ${String(target.Arn)} is not a function of the template; not wired`);
        continue;
      }
      targets.push({
        id: String(target.Id),
        arn: String(target.Arn),
        functionLogicalId,
        input: target.Input !== undefined ? JSON.parse(String(target.Input)) : undefined,
        // EventBridge's defaults: 185 attempts over 24 hours.
        maximumRetryAttempts: target.RetryPolicy?.MaximumRetryAttempts ?? 185,
        maximumEventAgeSeconds: target.RetryPolicy?.MaximumEventAgeInSeconds ?? 86_400,
        deadLetterArn: target.DeadLetterConfig?.Arn,
      });
    }
    if (p.EventPattern) patternRules.push({ logicalId: id, arn: template.arn(id), expression: '', targets, pattern: p.EventPattern });
    else rules.push({ logicalId: id, arn: template.arn(id), expression: String(p.ScheduleExpression), targets });
  }

  // ---- in-flight work and timers ----
  const inFlight = new Set<Promise<unknown>>();
  const sleeping = new Map<NodeJS.Timeout, () => void>();
  const track = <T>(work: Promise<T>): Promise<T> => {
    inFlight.add(work);
    const done = () => inFlight.delete(work);
    work.then(done, done);
    return work;
  };
  /** A delay that close() ends early (the work then sees `closed` and stops). */
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        sleeping.delete(timer);
        resolve();
      }, ms);
      sleeping.set(timer, resolve);
    });

  const sendToDestination = (destination: string, record: DestinationRecord) => {
    if (!/^arn:[^:]+:sqs:/.test(destination)) log(`destination ${destination} is not a queue; kept as one`);
    queues.send(destination, JSON.stringify(record));
  };

  /**
   * Lambda's asynchronous invocation: the event sits in Lambda's queue, runs, and is retried on failure.
   * Resolves with the refusal when Lambda did not accept the event at all (too large, throttled).
   */
  const asyncInvoke = (functionLogicalId: string, event: unknown): Promise<Extract<InvokeResult, { ok: false }> | undefined> =>
    track(
      (async () => {
        const config = asyncConfigs.get(functionLogicalId) ?? DEFAULT_ASYNC_CONFIG;
        const functionArn = `${template.arn(functionLogicalId)}:$LATEST`;
        const queuedAt = Date.now();
        let attempts = 0;
        let last: InvokeResult | undefined;
        let requestId: string | undefined;
        let condition: 'RetriesExhausted' | 'EventAgeExceeded' = 'RetriesExhausted';
        for (;;) {
          if (closed) return undefined;
          attempts++;
          // A failing Invoke call (the orchestrator's own error) counts as a service error of that attempt.
          last = await options
            .invokeAsync(functionLogicalId, event, requestId)
            .catch(
              (error: unknown): InvokeResult => ({ ok: false, requestId: '', errorType: 'ServiceException', errorMessage: String(error) }),
            );
          if (attempts === 1 && isRefusal(last)) return last;
          if (attempts === 1) counters.asyncInvocations++;
          requestId ??= last.requestId;
          if (last.ok) {
            if (config.onSuccess) {
              sendToDestination(config.onSuccess, {
                version: '1.0',
                timestamp: new Date().toISOString(),
                requestContext: { requestId, functionArn, condition: 'Success', approximateInvokeCount: attempts },
                requestPayload: event,
                responseContext: { statusCode: 200, executedVersion: '$LATEST' },
                responsePayload: last.result,
              });
            }
            return undefined;
          }
          if (attempts > config.maximumRetryAttempts) break;
          const wait = delayMs(attempts);
          const ageLimitAt = queuedAt + config.maximumEventAgeSeconds * 1000;
          if (Date.now() + wait > ageLimitAt) {
            await sleep(Math.max(0, ageLimitAt - Date.now()));
            condition = 'EventAgeExceeded';
            break;
          }
          counters.retries++;
          await sleep(wait);
        }
        if (closed) return undefined;
        counters.failures++;
        const failure = last as Extract<InvokeResult, { ok: false }>;
        const record: DestinationRecord = {
          version: '1.0',
          timestamp: new Date().toISOString(),
          requestContext: { requestId: requestId ?? failure.requestId, functionArn, condition, approximateInvokeCount: attempts },
          requestPayload: event,
          responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
          responsePayload: {
            errorType: failure.errorType,
            errorMessage: failure.errorMessage,
            ...(failure.trace ? { trace: failure.trace } : {}),
          },
        };
        log(JSON.stringify({ twin: 'async-failure', function: functionLogicalId, condition, attempts, errorType: failure.errorType }));
        if (config.onFailure) sendToDestination(config.onFailure, record);
        return undefined;
      })(),
    );

  const onObjectCreated = (record: S3EventRecordLike): string[] => {
    const key = decodeEventKey(record.s3.object.key);
    const delivered: string[] = [];
    for (const target of notifications) {
      if (target.bucket !== record.s3.bucket.name) continue;
      if (!matchesEvent(target.events, record.eventName)) continue;
      if (target.prefix !== undefined && !key.startsWith(target.prefix)) continue;
      if (target.suffix !== undefined && !key.endsWith(target.suffix)) continue;
      const event = { Records: [{ ...record, s3: { ...record.s3, configurationId: target.configurationId } }] };
      delivered.push(target.functionLogicalId);
      void asyncInvoke(target.functionLogicalId, event).then((refusal) => {
        // S3 does not retry a refused delivery: the event is lost, as on AWS.
        if (refusal)
          log(JSON.stringify({ twin: 'notification-refused', function: target.functionLogicalId, errorType: refusal.errorType }));
      });
    }
    return delivered;
  };

  /**
   * EventBridge hands the event to Lambda (an asynchronous Invoke). Lambda accepting it ends EventBridge's
   * part; a refused Invoke (too large, throttled, no such function) is retried per the target's
   * RetryPolicy and then sent to its dead-letter queue.
   */
  const deliverToTarget = (rule: ScheduleRule, target: ScheduleRule['targets'][number], event: unknown) =>
    track(
      (async () => {
        const createdAt = Date.now();
        for (let attempt = 0; ; attempt++) {
          if (closed) return;
          const refusal = await asyncInvoke(target.functionLogicalId, event);
          if (!refusal || closed) return;
          // Throttling is worth another try; a request Lambda can never take is not.
          const retryable = refusal.throttled === true;
          const tooOld = Date.now() + delayMs(attempt + 1) - createdAt > target.maximumEventAgeSeconds * 1000;
          if (!retryable || attempt >= target.maximumRetryAttempts || tooOld) {
            log(JSON.stringify({ twin: 'dead-letter', rule: rule.logicalId, target: target.id, error: refusal.errorType }));
            if (target.deadLetterArn) {
              queues.send(target.deadLetterArn, JSON.stringify(event), {
                RULE_ARN: rule.arn,
                TARGET_ARN: target.arn,
                ERROR_CODE: refusal.errorType,
                ERROR_MESSAGE: refusal.errorMessage,
              });
            }
            return;
          }
          await sleep(delayMs(attempt + 1));
        }
      })(),
    );

  const fire = (rule: ScheduleRule, at = new Date()) => {
    for (const target of rule.targets) {
      counters.scheduledEvents++;
      const event = target.input ?? {
        version: '0',
        id: randomUUID(),
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: template.arn(rule.logicalId).split(':')[4],
        time: eventTime(at),
        region: template.arn(rule.logicalId).split(':')[3],
        resources: [rule.arn],
        detail: {},
      };
      void deliverToTarget(rule, target, event);
    }
  };

  const intervals: NodeJS.Timeout[] = [];
  if (options.schedules !== false) {
    for (const rule of rules) {
      let period: number | 'cron';
      try {
        period = periodOf(rule.expression);
      } catch (error) {
        log(`rule ${rule.logicalId}: ${(error as Error).message}; not scheduled`);
        continue;
      }
      if (options.scheduleSeconds !== undefined) {
        intervals.push(setInterval(() => fire(rule), options.scheduleSeconds * 1000));
      } else if (period === 'cron') {
        // Checked at the start of every minute.
        let lastMinute = -1;
        intervals.push(
          setInterval(() => {
            const now = new Date();
            const minute = Math.floor(now.getTime() / 60_000);
            if (minute === lastMinute || !cronMatches(rule.expression, now)) return;
            lastMinute = minute;
            fire(rule, new Date(minute * 60_000));
          }, 1_000),
        );
      } else {
        intervals.push(setInterval(() => fire(rule), period));
      }
    }
  }

  const putServiceEvent: TwinEvents['putServiceEvent'] = (event) => {
    const delivered: string[] = [];
    for (const rule of patternRules) {
      if (!matchesPattern(rule.pattern, event)) continue;
      for (const target of rule.targets) {
        const full = {
          version: '0',
          id: randomUUID(),
          account: template.arn(rule.logicalId).split(':')[4],
          time: eventTime(new Date()),
          region: template.arn(rule.logicalId).split(':')[3],
          resources: [],
          ...event,
        };
        delivered.push(target.functionLogicalId);
        void deliverToTarget(rule, target, full);
      }
    }
    return delivered;
  };

  return {
    onObjectCreated,
    putServiceEvent,
    fireRule: (ruleLogicalId) => {
      const rule = rules.find((r) => r.logicalId === ruleLogicalId);
      if (!rule) throw new Error(`no enabled schedule rule ${ruleLogicalId}`);
      fire(rule);
    },
    queues,
    settled: async () => {
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
    stats: () => ({ ...counters }),
    close: async () => {
      closed = true;
      for (const interval of intervals) clearInterval(interval);
      for (const [timer, resolve] of sleeping) {
        clearTimeout(timer);
        resolve();
      }
      sleeping.clear();
      // Invocations already running finish on their own (close the runtimes to end them).
    },
  };
};

/**
 * EventBridge's pattern matching, for the forms the template uses: a field's pattern is a list of allowed
 * values (exact strings, or `{prefix}`), or an object matched field by field against the event's object.
 */
export const matchesPattern = (pattern: unknown, value: unknown): boolean => {
  if (Array.isArray(pattern)) {
    return pattern.some((allowed) =>
      allowed !== null && typeof allowed === 'object' && 'prefix' in allowed
        ? typeof value === 'string' && value.startsWith(String((allowed as { prefix: unknown }).prefix))
        : allowed === value,
    );
  }
  if (pattern !== null && typeof pattern === 'object') {
    if (value === null || typeof value !== 'object') return false;
    return Object.entries(pattern).every(([field, inner]) => matchesPattern(inner, (value as Record<string, unknown>)[field]));
  }
  return false;
};
