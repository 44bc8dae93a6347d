/**
 * AWS Secrets Manager, as far as the stack uses it: the secrets of the template (AWS::SecretsManager::Secret),
 * their values generated from GenerateSecretString as CloudFormation does at create, and GetSecretValue
 * over the service's awsJson1_1 protocol (POST /, X-Amz-Target: secretsmanager.GetSecretValue), so
 * `new SecretsManagerClient({})` with AWS_ENDPOINT_URL_SECRETS_MANAGER pointing here works unchanged.
 * Every call passes the IAM gate (secretsmanager:GetSecretValue on the secret's ARN). Errors are the
 * service's: `{"__type": name, "message"}` with status 400.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Gate } from '../iam/gate';
import { listenOnLoopback } from '../listen';
import type { TwinTemplate } from '../template';

export interface StoredSecret {
  arn: string;
  name: string;
  value: string;
  versionId: string;
  createdDate: number;
}

export interface TwinSecretsManager {
  url: string;
  /** A secret by ARN or name; undefined when the stack has none such. */
  secret(id: string): StoredSecret | undefined;
  /** The value as JSON (the shape RDS and CDK generate), or undefined. */
  json(id: string): Record<string, unknown> | undefined;
  close(): Promise<void>;
}

/** GenerateSecretString's defaults and character classes (the GetRandomPassword API reference). */
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = LOWER.toUpperCase();
const DIGITS = '0123456789';
const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

export interface GenerateSecretString {
  SecretStringTemplate?: string;
  GenerateStringKey?: string;
  PasswordLength?: number;
  ExcludeCharacters?: string;
  ExcludeLowercase?: boolean;
  ExcludeUppercase?: boolean;
  ExcludeNumbers?: boolean;
  ExcludePunctuation?: boolean;
  IncludeSpace?: boolean;
}

/** A value as CloudFormation generates it: a random password, placed under GenerateStringKey of the template when given. */
export const generateSecretValue = (spec: GenerateSecretString = {}): string => {
  const classes = [
    spec.ExcludeLowercase ? '' : LOWER,
    spec.ExcludeUppercase ? '' : UPPER,
    spec.ExcludeNumbers ? '' : DIGITS,
    spec.ExcludePunctuation ? '' : PUNCTUATION,
    spec.IncludeSpace ? ' ' : '',
  ].map((chars) => [...chars].filter((char) => !(spec.ExcludeCharacters ?? '').includes(char)).join(''));
  const alphabet = classes.join('');
  if (alphabet.length === 0) throw new Error('GenerateSecretString excludes every character');
  const length = spec.PasswordLength ?? 32;
  const password = Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');
  if (!spec.GenerateStringKey) return password;
  const template = JSON.parse(spec.SecretStringTemplate ?? '{}') as Record<string, unknown>;
  return JSON.stringify({ ...template, [spec.GenerateStringKey]: password });
};

export const startSecretsManager = async (options: { template: TwinTemplate; gate: Gate; port?: number }): Promise<TwinSecretsManager> => {
  const { template } = options;
  const secrets = new Map<string, StoredSecret>();
  for (const id of template.ofType('AWS::SecretsManager::Secret')) {
    const properties = template.resources[id]!.Properties;
    const arn = template.arn(id);
    const value =
      typeof properties.SecretString === 'string' ? properties.SecretString : generateSecretValue(properties.GenerateSecretString);
    const name = String(properties.Name ?? arn.split(':secret:')[1]!.replace(/-twin00$/, ''));
    secrets.set(arn, { arn, name, value, versionId: randomUUID(), createdDate: Date.now() / 1000 });
  }
  const find = (id: string) => secrets.get(id) ?? [...secrets.values()].find((secret) => secret.name === id);

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const fail = (type: string, message: string) => send(response, 400, { __type: type, message });
    const target = String(request.headers['x-amz-target'] ?? '');
    if (request.method !== 'POST' || target !== 'secretsmanager.GetSecretValue') {
      return fail('UnknownOperationException', `The twin's Secrets Manager serves GetSecretValue only, not ${target || request.method}`);
    }
    let input: { SecretId?: unknown };
    try {
      input = JSON.parse(body.toString('utf8') || '{}');
    } catch {
      return fail('SerializationException', 'The request body is not JSON');
    }
    const secretId = typeof input.SecretId === 'string' ? input.SecretId : '';
    if (!secretId) return fail('InvalidParameterException', 'SecretId is required');
    const secret = find(secretId);
    const raw = request.url ?? '/';
    const answer = await options.gate.authorize(
      'secretsmanager',
      { method: 'POST', path: raw.split('?')[0]!, query: raw.split('?')[1] ?? '', headers: request.headers, body },
      // A secret the stack lacks is still checked against its ARN-shaped id, as IAM sees the request.
      [{ action: 'secretsmanager:GetSecretValue', resource: secret?.arn ?? secretId }],
    );
    if (!answer.allowed) return fail(answer.code, answer.message);
    if (!secret) return fail('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    send(response, 200, {
      ARN: secret.arn,
      Name: secret.name,
      SecretString: secret.value,
      VersionId: secret.versionId,
      VersionStages: ['AWSCURRENT'],
      CreatedDate: secret.createdDate,
    });
  };

  const server = createServer((request, response) => {
    handle(request, response).catch(() =>
      send(response, 500, { __type: 'InternalServiceError', message: 'An error occurred on the server side.' }),
    );
  });
  const url = await listenOnLoopback(server, options.port);
  return {
    url,
    secret: find,
    json(id) {
      const secret = find(id);
      if (!secret) return undefined;
      try {
        const parsed: unknown = JSON.parse(secret.value);
        return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
      } catch {
        return undefined;
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
};

const send = (response: ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
  });
  response.end(text);
};
