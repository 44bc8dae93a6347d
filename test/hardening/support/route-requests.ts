/**
 * A well-formed request for any route of the route table, built from the route's path template and
 * known ids, so fault tests can call every route (new ones included) without a list of their own.
 */
import type { RouteDefinition } from '../../../functions/routes';
import { toneWav } from '../../support/audio-fixtures';
import type { RawRequest } from './raw-http';

export interface KnownIds {
  sessionId: string;
  chunkId: string;
  snapshotId: string;
}

/** Bodies the JSON routes accept; a route not listed here gets `{}`, which its schema may refuse (a 400 is still an answer). */
const JSON_BODIES: Record<string, unknown> = {
  'create-session': {},
  'create-audio-upload': { content_type: 'audio/wav', size_bytes: 1000 },
  'record-code-history': { code: 'print(1)', language: 'python' },
  'record-execution-result': { stdout: '1\n', stderr: '', exit_code: 0 },
  'place-session-hold': { reason: 'fault test' },
};

const RAW_BODY_HANDLERS = new Set(['upload-audio-chunk']);

const TONE = toneWav({ seconds: 0.25 });

export const wellFormedRequest = (route: RouteDefinition, ids: KnownIds): RawRequest => {
  const values: Record<string, string> = { session_id: ids.sessionId, chunk_id: ids.chunkId, snapshot_id: ids.snapshotId };
  const target = route.path.replace(/\{(\w+)\}/g, (_match, name: string) => encodeURIComponent(values[name] ?? ids.sessionId));
  if (RAW_BODY_HANDLERS.has(route.handler)) return { method: route.method, target, headers: { 'content-type': 'audio/wav' }, body: TONE };
  if (route.handler in JSON_BODIES) {
    return {
      method: route.method,
      target,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify(JSON_BODIES[route.handler])),
    };
  }
  return { method: route.method, target, headers: {} };
};
