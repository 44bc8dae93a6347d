/**
 * Who is who in the twin: its account and region, the caller that signs requests to the API, and one
 * deterministic access key per IAM role of the template (what Lambda hands a function as
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN). Keys are derived, never stored: the
 * same role id gives the same key in every process, so a child process and the gate agree without
 * talking. The twin secret is fixed and public on purpose: the twin guards against wrong code, not
 * against attackers.
 */
import { createHash, createHmac } from 'node:crypto';

export const TWIN_ACCOUNT = '000000000000';
export const TWIN_REGION = 'us-east-1';
export const TWIN_PARTITION = 'aws';
export const TWIN_URL_SUFFIX = 'amazonaws.com';

const TWIN_SECRET = 'interview-ops twin: derived keys, not a secret';

export interface TwinCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Role keys carry a session token, as Lambda's do; the caller's long-term key does not. */
  sessionToken?: string;
}

export interface TwinPrincipal {
  kind: 'role' | 'caller';
  /** The role's logical id, or CALLER_NAME. */
  name: string;
  /** arn:aws:iam::000000000000:role/<id> or …:user/<name>. */
  arn: string;
}

export const CALLER_NAME = 'twin-caller';
export const CALLER_ARN = `arn:${TWIN_PARTITION}:iam::${TWIN_ACCOUNT}:user/${CALLER_NAME}`;
export const roleArnOf = (roleLogicalId: string) => `arn:${TWIN_PARTITION}:iam::${TWIN_ACCOUNT}:role/${roleLogicalId}`;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** 20 characters like a real key id: a 4-letter prefix (AKIA long-term, ASIA temporary), then base32 of a hash. */
const keyIdOf = (prefix: string, seed: string) => {
  const digest = createHash('sha256').update(seed).digest();
  let out = prefix;
  for (let i = 0; out.length < 20; i++) out += BASE32[digest[i]! & 31];
  return out;
};
const derive = (purpose: string, keyId: string) => createHmac('sha256', TWIN_SECRET).update(`${purpose}:${keyId}`).digest('base64');

/** The secret belonging to an access key id: HMAC of the id under the twin secret (40 characters, as AWS's). */
export const secretOfAccessKey = (accessKeyId: string) =>
  derive('secret', accessKeyId)
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 40)
    .padEnd(40, 'T');
/** The session token of a role key. */
export const sessionTokenOfAccessKey = (accessKeyId: string) => `TwinSessionToken/${derive('token', accessKeyId)}`;

/** The access key the twin hands a role: `ASIATWIN` + 12 base32 characters of sha256(role id). */
export const accessKeyIdOfRole = (roleLogicalId: string) => keyIdOf('ASIATWIN', `role:${roleLogicalId}`);

export const credentialsOfRole = (roleLogicalId: string): TwinCredentials => {
  const accessKeyId = accessKeyIdOfRole(roleLogicalId);
  return { accessKeyId, secretAccessKey: secretOfAccessKey(accessKeyId), sessionToken: sessionTokenOfAccessKey(accessKeyId) };
};

/** The API's caller: a user whose key the test client and `npm run twin` print; see callerPolicy. */
export const CALLER_CREDENTIALS: TwinCredentials = (() => {
  const accessKeyId = keyIdOf('AKIATWIN', `user:${CALLER_NAME}`);
  return { accessKeyId, secretAccessKey: secretOfAccessKey(accessKeyId) };
})();

/** The caller's identity policy: it may invoke any route of the twin's APIs (execute-api:Invoke), nothing else. */
export const callerPolicy = (apiId?: string) => ({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: 'execute-api:Invoke',
      // `*/*` would do on AWS, but iam-simulate cannot match a wildcard API id followed by a path.
      Resource: `arn:${TWIN_PARTITION}:execute-api:${TWIN_REGION}:${TWIN_ACCOUNT}:${apiId ? `${apiId}/*` : '*'}`,
    },
  ],
});

export interface KnownKey {
  principal: TwinPrincipal;
  secretAccessKey: string;
  /** Required on the request (x-amz-security-token) when set. */
  sessionToken?: string;
}

/** The key registry for one template's roles plus the caller. */
export class TwinIdentity {
  private readonly byKey = new Map<string, KnownKey>();

  constructor(roleLogicalIds: Iterable<string>) {
    this.byKey.set(CALLER_CREDENTIALS.accessKeyId, {
      principal: { kind: 'caller', name: CALLER_NAME, arn: CALLER_ARN },
      secretAccessKey: CALLER_CREDENTIALS.secretAccessKey,
    });
    for (const role of roleLogicalIds) {
      const credentials = credentialsOfRole(role);
      this.byKey.set(credentials.accessKeyId, {
        principal: { kind: 'role', name: role, arn: roleArnOf(role) },
        secretAccessKey: credentials.secretAccessKey,
        sessionToken: credentials.sessionToken!,
      });
    }
  }

  readonly caller = CALLER_CREDENTIALS;

  credentialsOfRole(roleLogicalId: string): TwinCredentials {
    const credentials = credentialsOfRole(roleLogicalId);
    if (!this.byKey.has(credentials.accessKeyId)) throw new Error(`no role ${roleLogicalId} in this twin`);
    return credentials;
  }

  /** The role logical id owning the key, or undefined (the caller's key is not a role's). */
  roleOfAccessKey(accessKeyId: string): string | undefined {
    const known = this.byKey.get(accessKeyId);
    return known?.principal.kind === 'role' ? known.principal.name : undefined;
  }

  /** Everything the signature check needs about a key, or undefined for an unknown key. */
  lookup(accessKeyId: string): KnownKey | undefined {
    return this.byKey.get(accessKeyId);
  }
}
