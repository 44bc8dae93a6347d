/**
 * The twin's IAM: every call a function makes to a twin service passes here. It verifies the SigV4
 * signature (iam/sigv4.ts), maps the access key to its role (identity.ts) and evaluates each Check with
 * @cloud-copilot/iam-simulate against that role's identity policies from the template, plus the
 * resource's own policy where the service has one (the S3 bucket policy). Refusals are printed as one
 * JSON line on stderr; allowed calls are counted per principal per service.
 */
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { CALLER_NAME, callerPolicy, TWIN_ACCOUNT, TWIN_REGION, TwinIdentity, type TwinPrincipal } from '../identity';
import type { TwinTemplate } from '../template';
import { type SigV4Failure, verifySigV4 } from './sigv4';

export interface SignedRequest {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string | string[] | undefined>;
  /** Needed only when the request has no x-amz-content-sha256 header (rds-data, execute-api): the hash is then computed from it. */
  body?: Uint8Array | string;
}
export interface Check {
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
}
export type GateAnswer =
  | { allowed: true; principal: string } // principal: the role name
  | {
      allowed: false;
      status: 403;
      code: 'AccessDenied' | 'AccessDeniedException' | 'InvalidSignatureException' | 'UnrecognizedClientException';
      message: string;
      /** Why, machine-readable: a SigV4Failure, or 'policy' when IAM denied a check (lets S3 answer SignatureDoesNotMatch, InvalidAccessKeyId, ...). */
      reason: SigV4Failure | 'policy';
      /** The principal, when the key was known. */
      principal?: string;
    };
export type GateService = 's3' | 'rds-data' | 'transcribe' | 'execute-api' | 'secretsmanager';
export interface Gate {
  /** Verifies the SigV4 signature, maps the access key to a role and evaluates every check (all must allow). */
  authorize(service: GateService, request: SignedRequest, checks: Check[]): Promise<GateAnswer>;
}

export interface TwinGate extends Gate {
  /** Evaluates checks for a known principal without a signature, without logging or counting (e.g. S3's 403-or-404 decision). */
  allows(principal: string, service: GateService, check: Check): Promise<boolean>;
  /** Allowed calls so far: principal → service → count. */
  counts(): Record<string, Record<string, number>>;
  resetCounts(): void;
  readonly identity: TwinIdentity;
}

export interface GateOptions {
  template: TwinTemplate;
  identity?: TwinIdentity;
  /** Where refusal lines go; default process.stderr. */
  log?: (line: string) => void;
  now?: () => Date;
}

const deniedCode = (service: GateService, reason: SigV4Failure | 'policy'): Extract<GateAnswer, { allowed: false }>['code'] => {
  if (service === 's3' || (reason === 'policy' && service === 'execute-api')) return 'AccessDenied';
  if (reason === 'policy') return 'AccessDeniedException';
  if (reason === 'unknown-key' || reason === 'invalid-token') return 'UnrecognizedClientException';
  return service === 'execute-api' ? 'AccessDenied' : 'InvalidSignatureException';
};

const policyMessage = (principalArn: string, check: Check) =>
  `User: ${principalArn} is not authorized to perform: ${check.action} on resource: ${check.resource} because no identity-based policy allows the ${check.action} action`;

/** The bucket of an S3 ARN: arn:aws:s3:::bucket or arn:aws:s3:::bucket/key. */
const bucketOfArn = (arn: string) => (arn.startsWith('arn:aws:s3:::') ? arn.slice('arn:aws:s3:::'.length).split('/')[0] : undefined);

export const createGate = (options: GateOptions): TwinGate => {
  const { template } = options;
  const identity = options.identity ?? new TwinIdentity(template.ofType('AWS::IAM::Role'));
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const now = options.now ?? (() => new Date());
  const calls = new Map<string, Map<string, number>>();
  const policyCache = new Map<string, { name: string; policy: any }[]>();

  const principalOf = (name: string): TwinPrincipal | undefined => {
    if (name === CALLER_NAME) return identity.lookup(identity.caller.accessKeyId)!.principal;
    const role = template.resources[name];
    return role?.Type === 'AWS::IAM::Role' ? { kind: 'role', name, arn: template.arn(name) } : undefined;
  };
  const identityPolicies = (principal: TwinPrincipal) => {
    let policies = policyCache.get(principal.name);
    if (!policies) {
      policies =
        principal.kind === 'caller' ? [{ name: 'twin-caller', policy: callerPolicy() }] : template.policiesOfRole(principal.name).policies;
      policyCache.set(principal.name, policies);
    }
    return policies;
  };

  /** 'Allowed', or the reason it is not. */
  const evaluate = async (principal: TwinPrincipal, service: GateService, check: Check): Promise<true | string> => {
    const bucket = service === 's3' ? bucketOfArn(check.resource) : undefined;
    const resourcePolicy = bucket ? template.bucketPolicy(bucket) : undefined;
    const at = now();
    const simulation: Simulation = {
      request: {
        principal: principal.arn,
        action: check.action,
        resource: { resource: check.resource, accountId: TWIN_ACCOUNT },
        contextVariables: {
          // The twin plays HTTPS: the bucket policy's Deny on aws:SecureTransport=false must not fire.
          'aws:SecureTransport': 'true',
          'aws:PrincipalArn': principal.arn,
          'aws:PrincipalAccount': TWIN_ACCOUNT,
          'aws:PrincipalType': principal.kind === 'role' ? 'AssumedRole' : 'User',
          'aws:RequestedRegion': TWIN_REGION,
          'aws:CurrentTime': at.toISOString(),
          'aws:EpochTime': String(Math.floor(at.getTime() / 1000)),
          ...check.context,
        },
      },
      identityPolicies: identityPolicies(principal),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy ? { resourcePolicy } : {}),
    };
    const result = await runSimulation(simulation, {});
    if (result.resultType === 'error') return `simulation error: ${result.errors.message}`;
    return result.overallResult === 'Allowed' ? true : result.overallResult;
  };

  const refuse = (
    service: GateService,
    reason: SigV4Failure | 'policy',
    message: string,
    detail: { principal?: string; action: string; resource: string; why: string },
  ): GateAnswer => {
    log(
      JSON.stringify({
        twin: 'refused',
        service,
        principal: detail.principal ?? null,
        action: detail.action,
        resource: detail.resource,
        reason: detail.why,
      }),
    );
    return {
      allowed: false,
      status: 403,
      code: deniedCode(service, reason),
      message,
      reason,
      ...(detail.principal ? { principal: detail.principal } : {}),
    };
  };

  const authorize: Gate['authorize'] = async (service, request, checks) => {
    const firstCheck = checks[0] ?? { action: `${service}:*`, resource: '*' };
    const verified = verifySigV4(request, {
      service,
      region: TWIN_REGION,
      now: now(),
      secretOf: (accessKeyId) => {
        const known = identity.lookup(accessKeyId);
        return known
          ? { secretAccessKey: known.secretAccessKey, ...(known.sessionToken ? { sessionToken: known.sessionToken } : {}) }
          : undefined;
      },
    });
    if (!verified.ok) {
      const principal = verified.accessKeyId ? identity.lookup(verified.accessKeyId)?.principal.name : undefined;
      const message =
        service === 's3'
          ? verified.failure === 'unsigned'
            ? 'Access Denied'
            : verified.reason
          : verified.failure === 'unknown-key' || verified.failure === 'invalid-token'
            ? 'The security token included in the request is invalid.'
            : verified.failure === 'signature-mismatch'
              ? 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.'
              : verified.reason;
      return refuse(service, verified.failure, message, {
        ...(principal ? { principal } : {}),
        action: firstCheck.action,
        resource: firstCheck.resource,
        why: `${verified.failure}: ${verified.reason}`,
      });
    }
    const known = identity.lookup(verified.accessKeyId)!.principal;
    const principal = principalOf(known.name) ?? known;
    for (const check of checks) {
      const outcome = await evaluate(principal, service, check);
      if (outcome !== true) {
        return refuse(service, 'policy', service === 's3' ? 'Access Denied' : policyMessage(principal.arn, check), {
          principal: principal.name,
          action: check.action,
          resource: check.resource,
          why: outcome,
        });
      }
    }
    const perService = calls.get(principal.name) ?? new Map<string, number>();
    perService.set(service, (perService.get(service) ?? 0) + 1);
    calls.set(principal.name, perService);
    return { allowed: true, principal: principal.name };
  };

  return {
    identity,
    authorize,
    async allows(principalName, service, check) {
      const principal = principalOf(principalName);
      return principal ? (await evaluate(principal, service, check)) === true : false;
    },
    counts: () => Object.fromEntries([...calls].map(([principal, perService]) => [principal, Object.fromEntries(perService)])),
    resetCounts: () => calls.clear(),
  };
};
