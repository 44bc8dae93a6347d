/**
 * Tracing as the twin runs what ships: Lambda hands each invocation of an actively traced function a
 * trace header, and the function's Powertools Tracer sends its segment, with a subsegment per AWS call,
 * to the daemon address Lambda sets (the twin's stand-in keeps them).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { XraySegment } from '../../twin/xray';
import { startTwinTarget, type TwinTarget } from '../support/twin-target';

let target: TwinTarget;

beforeAll(async () => {
  target = await startTwinTarget();
}, 300_000);

afterAll(() => target?.stop());

const flatten = (segments: XraySegment[]): XraySegment[] => segments.flatMap((segment) => [segment, ...flatten(segment.subsegments ?? [])]);

describe('tracing on the twin', () => {
  const documentsOf = async (work: () => Promise<unknown>) => {
    const before = target.twin.xray.segments().length;
    await work();
    // The SDK sends a segment over UDP as it closes, just after the answer.
    for (let waited = 0; waited < 5000 && target.twin.xray.segments().length === before; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    return flatten(target.twin.xray.segments().slice(before));
  };

  it('sends the handler segment with the Data API call in it, under the trace Lambda started', async () => {
    let status = 0;
    const documents = await documentsOf(async () => {
      status = (await target.request('POST', '/sessions', { json: { session_id: 'traced-session' } })).status;
    });
    expect(status).toBe(201);
    const handler = documents.find((segment) => segment.name === '## index.handler');
    expect(handler, JSON.stringify(documents)).toBeDefined();
    expect(handler!.trace_id).toMatch(/^1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    expect(handler!.annotations).toMatchObject({ Service: 'interview-ops' });
    expect(handler!.fault).toBeUndefined();
    const dataApi = documents.filter((segment) => segment.namespace === 'aws' && segment.name === 'RDSData');
    expect(dataApi.length).toBeGreaterThan(0);
    for (const call of dataApi) {
      expect(call.trace_id).toBe(handler!.trace_id);
      expect(call.parent_id).toBe(handler!.id);
      expect((call.aws as { operation?: string }).operation).toBe('ExecuteStatement');
    }
  });

  it("records a caller's refusal (404) as no fault", async () => {
    const documents = await documentsOf(() => target.request('GET', '/sessions/no-such-traced-session'));
    const handler = documents.find((segment) => segment.name === '## index.handler');
    expect(handler).toBeDefined();
    expect(handler!.fault).toBeUndefined();
    expect(handler!.error).toBeUndefined();
  });
});
