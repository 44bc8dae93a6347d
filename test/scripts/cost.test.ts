/**
 * npm run cost's estimate: it reads what the synthesized template fixes (functions, secrets, alarms,
 * dashboards, tracing, Aurora's floor, the schedule) and prices it from the dated price file; idle,
 * everything but monitoring stays under the $3 target.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { eventFunctions, routes } from '../../functions/routes';
import { InterviewOpsStack } from '../../lib/interview-ops-stack';
import { PROJECT_ROOT } from '../../lib/project-root';
import { type CloudFormationTemplate, estimate, isMonitoring, type Prices, readTemplate } from '../../scripts/cost/estimate';
import { HUNDRED_INTERVIEWS_A_DAY, IDLE } from '../../scripts/cost/traffic';

const IDLE_TARGET_DOLLARS = 3;
const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')).context;
const prices: Prices = JSON.parse(readFileSync(join(PROJECT_ROOT, 'scripts', 'prices', 'us-east-1.json'), 'utf8'));

const synth = (context: Record<string, unknown> = {}): CloudFormationTemplate => {
  const app = new App({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context } });
  const stack = new InterviewOpsStack(app, 'InterviewOps');
  return Template.fromStack(stack).toJSON() as CloudFormationTemplate;
};
const countOf = (template: CloudFormationTemplate, type: string) => Object.values(template.Resources).filter((r) => r.Type === type).length;
const sum = (lines: { monthly: number }[]) => lines.reduce((total, line) => total + line.monthly, 0);

let template: CloudFormationTemplate;
beforeAll(() => {
  template = synth();
});

describe('npm run cost', () => {
  it('prices from a dated list for one region', () => {
    expect(prices.region).toBe('us-east-1');
    expect(prices.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('reads the functions, secrets, alarms, dashboards, tracing and Aurora floor from the template', () => {
    const facts = readTemplate(template);
    const handlers = new Set([
      ...routes.map((route) => route.handler),
      ...eventFunctions.map((entry) => entry.handler),
      'migrate-database',
    ]);
    expect(facts.functions).toBe(countOf(template, 'AWS::Lambda::Function'));
    expect(facts.tracedFunctions).toBe(handlers.size);
    expect(facts.secrets).toBe(3);
    expect(facts.alarmMetrics).toBeGreaterThanOrEqual(countOf(template, 'AWS::CloudWatch::Alarm'));
    expect(facts.dashboards).toBe(1);
    expect(facts.databaseMinCapacity).toBe(0);
    // The minute snapshot, the quarter-hourly upload expiry and the daily retention sweep.
    expect(facts.scheduledRunsPerMonth).toBeCloseTo(730 * 60 + 730 * 4 + 730 / 24, 6);
    expect(facts.memoryOf('transcribe-audio-chunk')).toBe(1024);
  });

  it("keeps idle under $3 a month with the account's always-free allowances, and prices monitoring by what the template holds", () => {
    const facts = readTemplate(template);
    const idle = estimate(facts, IDLE, prices);
    const idleFree = estimate(facts, IDLE, prices, { alwaysFree: true });
    expect(idleFree.total).toBeLessThan(IDLE_TARGET_DOLLARS);
    // Without any allowance the idle stack is the target plus what its monitoring lists at.
    expect(idle.total - sum(idle.lines.filter(isMonitoring))).toBeLessThan(IDLE_TARGET_DOLLARS);
    expect(idle.total).toBeGreaterThan(idleFree.total);
    expect(idle.lines.find((line) => line.service === 'Aurora Serverless v2' && line.item.includes('ACU'))!.monthly).toBe(0);
    const alarms = idle.lines.filter(isMonitoring).find((line) => line.item.includes('alarm metrics'))!;
    expect(alarms.monthly).toBeCloseTo(facts.alarmMetrics * prices.cloudwatch.alarmMetricMonth, 6);
    // No alarm per route function: the API's 5xx alarm stands for them. Each event function has its queue,
    // errors and throttles; the staleness alarm reads two metrics.
    expect(facts.alarmMetrics).toBe(3 * eventFunctions.length + 1 + 2);
  });

  it('follows the template: a warm Aurora floor costs its ACU-hours even idle', () => {
    const warm = readTemplate(synth({ databaseMinCapacity: 0.5 }));
    const idle = estimate(warm, IDLE, prices);
    const aurora = idle.lines.find((line) => line.service === 'Aurora Serverless v2' && line.item.includes('ACU'))!;
    expect(aurora.monthly).toBeCloseTo(0.5 * 730 * prices.aurora.acuHour, 6);
    expect(idle.total).toBeGreaterThan(40);
  });

  it('prices 100 one-hour interviews a day, Transcribe the largest line', () => {
    const busy = estimate(readTemplate(template), HUNDRED_INTERVIEWS_A_DAY, prices);
    const largest = [...busy.lines].sort((a, b) => b.monthly - a.monthly)[0]!;
    expect(largest.service).toBe('Amazon Transcribe');
    expect(largest.monthly).toBeCloseTo(100 * 30 * 60 * prices.transcribe.streamingPerMinute, 6);
    expect(busy.total).toBeGreaterThan(estimate(readTemplate(template), IDLE, prices).total);
  });
});
