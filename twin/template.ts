/**
 * The synthesized stack as the twin sees it: cdk.out/manifest.json → the stack's template, every
 * intrinsic in Resources and Outputs resolved to the value it would have after deploy in account
 * 000000000000, us-east-1. Physical ids follow one deterministic rule per resource type (see physicalRef
 * and attribute below), so every part of the twin computes the same names independently.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import { TWIN_ACCOUNT, TWIN_PARTITION, TWIN_REGION, TWIN_URL_SUFFIX } from './identity';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface TwinResource {
  Type: string;
  /** Properties with every intrinsic resolved; `AWS::NoValue` entries removed. */
  Properties: Record<string, any>;
  DependsOn: string[];
  Metadata: Record<string, any>;
}

export interface TwinFunction {
  logicalId: string;
  /** Physical name (Ref). */
  name: string;
  arn: string;
  handler: string;
  runtime: string;
  /** Seconds (CloudFormation default 3). */
  timeout: number;
  /** MB (default 128). */
  memory: number;
  environment: Record<string, string>;
  /** Logical id of the execution role, or undefined when the Role ARN names no role of this stack. */
  roleLogicalId: string | undefined;
  reservedConcurrency: number | undefined;
  architectures: string[];
  /** Absolute folder of the bundle, or undefined for inline code (Code.ZipFile) and assets without a path. */
  assetDir: string | undefined;
  /** TracingConfig.Mode: Active traces every invocation (X-Ray); PassThrough (the default) does not. */
  tracing: 'Active' | 'PassThrough';
}

export interface RolePolicies {
  /** Identity policies, resolved: every AWS::IAM::Policy / ManagedPolicy attached to the role, its inline Policies, and the AWS managed policies the twin knows. */
  policies: { name: string; policy: any }[];
  /** ManagedPolicyArns the twin does not know the content of (not evaluated: they grant nothing here). */
  unresolvedManagedPolicyArns: string[];
}

export interface TwinTemplate {
  stackName: string;
  cdkOutDir: string;
  templateFile: string;
  resources: Record<string, TwinResource>;
  outputs: Record<string, string>;
  /** The resource's Ref value. */
  physicalId(logicalId: string): string;
  /** The resource's ARN (GetAtt Arn, DBClusterArn for clusters, the Ref for secrets). */
  arn(logicalId: string): string;
  /** Fn::GetAtt of any attribute. */
  getAtt(logicalId: string, attribute: string): any;
  /** The logical id whose Ref or ARN is this value, if any. */
  logicalIdOf(physicalIdOrArn: string): string | undefined;
  /** Logical ids of every resource of this type. */
  ofType(type: string): string[];
  /** Absolute folder in cdk.out holding the function's bundle; throws when the function has none. */
  assetDir(functionLogicalId: string): string;
  functions(): Record<string, TwinFunction>;
  policiesOfRole(roleLogicalId: string): RolePolicies;
  /** The resolved PolicyDocument of the AWS::S3::BucketPolicy of a bucket (by bucket name or logical id). */
  bucketPolicy(bucketNameOrLogicalId: string): any | undefined;
}

/** AWS managed policies whose content the twin knows (the ones CDK attaches to its own handlers). */
const KNOWN_MANAGED_POLICIES: Record<string, any> = {
  'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole': {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], Resource: '*' }],
  },
};

const NO_VALUE = Symbol('AWS::NoValue');
const hex = (seed: string, length: number) => createHash('sha256').update(seed).digest('hex').slice(0, length);
const asList = (value: unknown): string[] => (value === undefined ? [] : Array.isArray(value) ? value.map(String) : [String(value)]);

/** Finds the stack template in a cloud assembly: the only (or the named) aws:cloudformation:stack artifact. */
const findStack = (cdkOutDir: string, stackName?: string) => {
  const manifest = JSON.parse(readFileSync(join(cdkOutDir, 'manifest.json'), 'utf8')) as {
    artifacts?: Record<string, { type: string; properties?: { templateFile?: string; stackName?: string }; displayName?: string }>;
  };
  const stacks = Object.entries(manifest.artifacts ?? {}).filter(([, artifact]) => artifact.type === 'aws:cloudformation:stack');
  const chosen = stackName ? stacks.filter(([id, a]) => id === stackName || a.properties?.stackName === stackName) : stacks;
  if (chosen.length !== 1) {
    throw new Error(
      `expected one stack${stackName ? ` named ${stackName}` : ''} in ${cdkOutDir}/manifest.json, found ${chosen.map(([id]) => id).join(', ') || 'none'}`,
    );
  }
  const [artifactId, artifact] = chosen[0]!;
  return { stackName: artifact.properties?.stackName ?? artifactId, templateFile: join(cdkOutDir, artifact.properties!.templateFile!) };
};

export const loadTemplate = (cdkOutDir: string, stackName?: string): TwinTemplate => {
  const dir = resolvePath(cdkOutDir);
  const stack = findStack(dir, stackName);
  return templateFromJson(JSON.parse(readFileSync(stack.templateFile, 'utf8')), {
    stackName: stack.stackName,
    cdkOutDir: dir,
    templateFile: stack.templateFile,
  });
};

/** Builds the twin's view of an already parsed template (tests hand small ones in). */
export const templateFromJson = (
  template: any,
  options: { stackName?: string; cdkOutDir?: string; templateFile?: string } = {},
): TwinTemplate => {
  const stackName = options.stackName ?? 'TwinStack';
  const cdkOutDir = resolvePath(options.cdkOutDir ?? '.');
  const raw: Record<string, any> = template.Resources ?? {};
  const parameters: Record<string, any> = template.Parameters ?? {};
  const mappings: Record<string, any> = template.Mappings ?? {};
  const conditionDefs: Record<string, any> = template.Conditions ?? {};

  const pseudo: Record<string, any> = {
    'AWS::AccountId': TWIN_ACCOUNT,
    'AWS::Region': TWIN_REGION,
    'AWS::Partition': TWIN_PARTITION,
    'AWS::URLSuffix': TWIN_URL_SUFFIX,
    'AWS::StackName': stackName,
    'AWS::StackId': `arn:${TWIN_PARTITION}:cloudformation:${TWIN_REGION}:${TWIN_ACCOUNT}:stack/${stackName}/${hex(stackName, 8)}-0000-4000-8000-${hex(`${stackName}:id`, 12)}`,
    'AWS::NotificationARNs': [],
    'AWS::NoValue': NO_VALUE,
  };

  const conditionCache = new Map<string, boolean>();
  const condition = (name: string): boolean => {
    if (!conditionCache.has(name)) {
      if (!(name in conditionDefs)) throw new Error(`unknown condition ${name}`);
      conditionCache.set(name, Boolean(resolveValue(conditionDefs[name], [])));
    }
    return conditionCache.get(name)!;
  };
  // Resources whose Condition is false do not exist; filled in below, once the resolver is defined.
  const live: string[] = [];
  const liveSet = new Set<string>();

  // --- physical ids -------------------------------------------------------------------------------
  const refCache = new Map<string, string>();
  const prop = (id: string, name: string, path: string[]) => {
    const value = raw[id].Properties?.[name];
    return value === undefined ? undefined : resolveValue(value, [...path, id]);
  };
  const named = (id: string, property: string, path: string[], fallback: () => string) => {
    const value = prop(id, property, path);
    return typeof value === 'string' && value !== '' ? value : fallback();
  };
  const region = TWIN_REGION;
  const account = TWIN_ACCOUNT;
  const arnPrefix = (service: string, withRegion = true, withAccount = true) =>
    `arn:${TWIN_PARTITION}:${service}:${withRegion ? region : ''}:${withAccount ? account : ''}:`;

  const physicalRef = (id: string, path: string[]): string => {
    const cached = refCache.get(id);
    if (cached !== undefined) return cached;
    if (path.includes(id)) throw new Error(`circular reference: ${[...path, id].join(' → ')}`);
    const type: string = raw[id].Type;
    let value: string;
    switch (type) {
      case 'AWS::S3::Bucket':
        value = named(id, 'BucketName', path, () => id.toLowerCase().slice(0, 63));
        break;
      case 'AWS::IAM::Role':
        value = named(id, 'RoleName', path, () => id.slice(0, 64));
        break;
      case 'AWS::IAM::ManagedPolicy':
        value = `arn:${TWIN_PARTITION}:iam::${account}:policy/${named(id, 'ManagedPolicyName', path, () => id)}`;
        break;
      case 'AWS::IAM::User':
        value = named(id, 'UserName', path, () => id);
        break;
      case 'AWS::Lambda::Function':
        value = named(id, 'FunctionName', path, () => id.slice(0, 64));
        break;
      case 'AWS::Lambda::Version':
        value = `${functionArnOf(prop(id, 'FunctionName', path))}:1`;
        break;
      case 'AWS::Lambda::Alias':
        value = `${functionArnOf(prop(id, 'FunctionName', path))}:${prop(id, 'Name', path)}`;
        break;
      case 'AWS::Logs::LogGroup':
        value = named(id, 'LogGroupName', path, () => id);
        break;
      case 'AWS::RDS::DBCluster':
        value = named(id, 'DBClusterIdentifier', path, () => id)
          .toLowerCase()
          .slice(0, 63);
        break;
      case 'AWS::RDS::DBInstance':
        value = named(id, 'DBInstanceIdentifier', path, () => id)
          .toLowerCase()
          .slice(0, 63);
        break;
      case 'AWS::RDS::DBSubnetGroup':
        value = named(id, 'DBSubnetGroupName', path, () => id).toLowerCase();
        break;
      case 'AWS::SecretsManager::Secret':
        value = `${arnPrefix('secretsmanager')}secret:${named(id, 'Name', path, () => id)}-twin00`;
        break;
      case 'AWS::SecretsManager::SecretTargetAttachment':
        // Ref of the attachment is the ARN of the secret it attaches (what CDK hands out as cluster.secret).
        value = String(prop(id, 'SecretId', path));
        break;
      case 'AWS::SQS::Queue':
        value = `https://sqs.${region}.${TWIN_URL_SUFFIX}/${account}/${queueNameOf(id, path)}`;
        break;
      case 'AWS::SNS::Topic':
        value = `${arnPrefix('sns')}${named(id, 'TopicName', path, () => id)}`;
        break;
      case 'AWS::Events::Rule':
        value = named(id, 'Name', path, () => id.slice(0, 64));
        break;
      case 'AWS::DynamoDB::Table':
        value = named(id, 'TableName', path, () => id);
        break;
      case 'AWS::ApiGatewayV2::Api':
      case 'AWS::ApiGateway::RestApi':
        value = hex(`api:${id}`, 10);
        break;
      case 'AWS::ApiGatewayV2::Stage':
      case 'AWS::ApiGateway::Stage':
        value = named(id, 'StageName', path, () => id);
        break;
      case 'AWS::ApiGatewayV2::Route':
      case 'AWS::ApiGatewayV2::Integration':
      case 'AWS::ApiGatewayV2::Authorizer':
        value = hex(`${type}:${id}`, 7);
        break;
      case 'AWS::KMS::Key': {
        const h = hex(`kms:${id}`, 32);
        value = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
        break;
      }
      default: {
        const ec2Prefix: Record<string, string> = {
          'AWS::EC2::VPC': 'vpc-',
          'AWS::EC2::Subnet': 'subnet-',
          'AWS::EC2::SecurityGroup': 'sg-',
          'AWS::EC2::RouteTable': 'rtb-',
          'AWS::EC2::SubnetRouteTableAssociation': 'rtbassoc-',
          'AWS::EC2::FlowLog': 'fl-',
          'AWS::EC2::InternetGateway': 'igw-',
          'AWS::EC2::NatGateway': 'nat-',
          'AWS::EC2::VPCEndpoint': 'vpce-',
        };
        value = ec2Prefix[type] ? `${ec2Prefix[type]}${hex(`${type}:${id}`, 17)}` : id;
      }
    }
    refCache.set(id, value);
    return value;
  };

  const queueNameOf = (id: string, path: string[]) => {
    const fifo = prop(id, 'FifoQueue', path) === true || prop(id, 'FifoQueue', path) === 'true';
    return named(id, 'QueueName', path, () => (fifo ? `${id.slice(0, 75)}.fifo` : id.slice(0, 80)));
  };
  const functionArnOf = (nameOrArn: unknown) => {
    const text = String(nameOrArn);
    return text.startsWith('arn:') ? text : `${arnPrefix('lambda')}function:${text}`;
  };

  const attribute = (id: string, attr: string, path: string[]): any => {
    if (!liveSet.has(id)) throw new Error(`Fn::GetAtt of unknown or excluded resource ${id}`);
    const type: string = raw[id].Type;
    const ref = () => physicalRef(id, path);
    const generic = () => {
      if (attr === 'Arn') {
        const [, service = 'unknown', kind = 'resource'] = type.split('::');
        return `${arnPrefix(service.toLowerCase())}${kind.toLowerCase()}/${ref()}`;
      }
      return `${ref()}.${attr}`;
    };
    switch (type) {
      case 'AWS::S3::Bucket':
        return (
          {
            Arn: `arn:${TWIN_PARTITION}:s3:::${ref()}`,
            DomainName: `${ref()}.s3.${TWIN_URL_SUFFIX}`,
            RegionalDomainName: `${ref()}.s3.${region}.${TWIN_URL_SUFFIX}`,
            DualStackDomainName: `${ref()}.s3.dualstack.${region}.${TWIN_URL_SUFFIX}`,
            WebsiteURL: `http://${ref()}.s3-website-${region}.${TWIN_URL_SUFFIX}`,
          }[attr] ?? generic()
        );
      case 'AWS::IAM::Role':
        return (
          { Arn: `arn:${TWIN_PARTITION}:iam::${account}:role/${ref()}`, RoleId: `AROA${hex(`role:${id}`, 17).toUpperCase()}` }[attr] ??
          generic()
        );
      case 'AWS::IAM::User':
        return { Arn: `arn:${TWIN_PARTITION}:iam::${account}:user/${ref()}` }[attr] ?? generic();
      case 'AWS::IAM::ManagedPolicy':
        return { PolicyArn: ref(), Arn: ref() }[attr] ?? generic();
      case 'AWS::Lambda::Function':
        return { Arn: functionArnOf(ref()) }[attr] ?? generic();
      case 'AWS::Lambda::Version':
        return { Version: '1', FunctionArn: ref() }[attr] ?? generic();
      case 'AWS::Logs::LogGroup':
        return { Arn: `${arnPrefix('logs')}log-group:${ref()}:*` }[attr] ?? generic();
      case 'AWS::RDS::DBCluster': {
        const arn = `${arnPrefix('rds')}cluster:${ref()}`;
        return (
          (
            {
              Arn: arn,
              DBClusterArn: arn,
              'Endpoint.Address': `${ref()}.cluster-twin.${region}.rds.${TWIN_URL_SUFFIX}`,
              'Endpoint.Port': '5432',
              'ReadEndpoint.Address': `${ref()}.cluster-ro-twin.${region}.rds.${TWIN_URL_SUFFIX}`,
              DBClusterResourceId: `cluster-${hex(`cluster:${id}`, 26).toUpperCase()}`,
            } as Record<string, string>
          )[attr] ?? generic()
        );
      }
      case 'AWS::RDS::DBInstance':
        return (
          (
            {
              Arn: `${arnPrefix('rds')}db:${ref()}`,
              DBInstanceArn: `${arnPrefix('rds')}db:${ref()}`,
              'Endpoint.Address': `${ref()}.twin.${region}.rds.${TWIN_URL_SUFFIX}`,
              'Endpoint.Port': '5432',
            } as Record<string, string>
          )[attr] ?? generic()
        );
      case 'AWS::SecretsManager::Secret':
        return { Id: ref(), Arn: ref() }[attr] ?? generic();
      case 'AWS::SecretsManager::SecretTargetAttachment':
        return { Id: ref(), Arn: ref() }[attr] ?? generic();
      case 'AWS::SQS::Queue':
        return { Arn: `${arnPrefix('sqs')}${queueNameOf(id, path)}`, QueueName: queueNameOf(id, path), QueueUrl: ref() }[attr] ?? generic();
      case 'AWS::SNS::Topic':
        return { TopicArn: ref(), TopicName: ref().split(':').pop()! }[attr] ?? generic();
      case 'AWS::Events::Rule':
        return { Arn: `${arnPrefix('events')}rule/${ref()}` }[attr] ?? generic();
      case 'AWS::DynamoDB::Table':
        return (
          {
            Arn: `${arnPrefix('dynamodb')}table/${ref()}`,
            StreamArn: `${arnPrefix('dynamodb')}table/${ref()}/stream/1970-01-01T00:00:00.000`,
          }[attr] ?? generic()
        );
      case 'AWS::ApiGatewayV2::Api':
        return { ApiId: ref(), ApiEndpoint: `https://${ref()}.execute-api.${region}.${TWIN_URL_SUFFIX}` }[attr] ?? generic();
      case 'AWS::EC2::SecurityGroup':
        return { GroupId: ref(), VpcId: prop(id, 'VpcId', path) ?? `vpc-${hex(`vpc-of:${id}`, 17)}` }[attr] ?? generic();
      case 'AWS::EC2::VPC':
        return (
          {
            VpcId: ref(),
            CidrBlock: prop(id, 'CidrBlock', path) ?? '10.0.0.0/16',
            DefaultSecurityGroup: `sg-${hex(`default-sg:${id}`, 17)}`,
          }[attr] ?? generic()
        );
      case 'AWS::EC2::Subnet':
        return { SubnetId: ref(), AvailabilityZone: prop(id, 'AvailabilityZone', path) ?? `${region}a` }[attr] ?? generic();
      case 'AWS::KMS::Key':
        return { Arn: `${arnPrefix('kms')}key/${ref()}`, KeyId: ref() }[attr] ?? generic();
      default:
        return generic();
    }
  };

  // --- intrinsics ---------------------------------------------------------------------------------
  const subVariable = (name: string, vars: Record<string, any>, path: string[]): string => {
    if (name in vars) return String(resolveValue(vars[name], path));
    if (name in pseudo) return String(pseudo[name]);
    if (name in parameters) return String(parameterValue(name));
    const dot = name.indexOf('.');
    if (dot > 0 && liveSet.has(name.slice(0, dot))) return String(attribute(name.slice(0, dot), name.slice(dot + 1), path));
    if (liveSet.has(name)) return physicalRef(name, path);
    throw new Error(`Fn::Sub: unresolvable \${${name}}`);
  };
  const parameterValue = (name: string) => {
    const parameter = parameters[name];
    if (parameter.Default === undefined) throw new Error(`parameter ${name} has no Default`);
    return parameter.Type === 'CommaDelimitedList' || String(parameter.Type).startsWith('List<')
      ? String(parameter.Default).split(',')
      : parameter.Default;
  };

  const resolveValue = (value: any, path: string[]): any => {
    if (Array.isArray(value)) return value.map((v) => resolveValue(v, path)).filter((v) => v !== NO_VALUE);
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const key = keys[0]!;
      const arg = value[key];
      switch (key) {
        case 'Ref': {
          if (arg in pseudo) return pseudo[arg];
          if (arg in parameters) return parameterValue(arg);
          if (liveSet.has(arg)) return physicalRef(arg, path);
          throw new Error(`Ref to unknown ${arg}`);
        }
        case 'Fn::GetAtt': {
          const [id, attr] = Array.isArray(arg)
            ? [arg[0], resolveValue(arg[1], path)]
            : [String(arg).split('.')[0], String(arg).split('.').slice(1).join('.')];
          return attribute(id, attr, path);
        }
        case 'Fn::Join': {
          const [delimiter, list] = arg;
          return (resolveValue(list, path) as any[]).map(String).join(delimiter);
        }
        case 'Fn::Sub': {
          const [text, vars] = typeof arg === 'string' ? [arg, {}] : [arg[0], arg[1] ?? {}];
          return String(text).replace(/\$\{([^}]*)\}/g, (_whole, inner: string) =>
            inner.startsWith('!') ? `\${${inner.slice(1)}}` : subVariable(inner.trim(), vars, path),
          );
        }
        case 'Fn::Select': {
          const index = Number(resolveValue(arg[0], path));
          const list = resolveValue(arg[1], path) as any[];
          if (!Array.isArray(list) || index < 0 || index >= list.length) throw new Error(`Fn::Select index ${index} out of range`);
          return list[index];
        }
        case 'Fn::Split':
          return String(resolveValue(arg[1], path)).split(arg[0]);
        case 'Fn::If':
          return resolveValue(condition(arg[0]) ? arg[1] : arg[2], path);
        case 'Fn::Equals':
          return JSON.stringify(resolveValue(arg[0], path)) === JSON.stringify(resolveValue(arg[1], path));
        case 'Fn::And':
          return (arg as any[]).every((c) => Boolean(resolveValue(c, path)));
        case 'Fn::Or':
          return (arg as any[]).some((c) => Boolean(resolveValue(c, path)));
        case 'Fn::Not':
          return !resolveValue(arg[0], path);
        case 'Condition':
          if (typeof arg === 'string' && arg in conditionDefs) return condition(arg);
          break;
        case 'Fn::Contains':
          return (resolveValue(arg[0], path) as any[]).map(String).includes(String(resolveValue(arg[1], path)));
        case 'Fn::GetAZs':
          return [`${region}a`, `${region}b`, `${region}c`];
        case 'Fn::FindInMap': {
          const [map, top, second] = (arg as any[]).map((v) => resolveValue(v, path));
          const found = mappings[map]?.[top]?.[second];
          if (found === undefined) throw new Error(`Fn::FindInMap ${map}.${top}.${second} not found`);
          return found;
        }
        case 'Fn::Base64':
          return Buffer.from(String(resolveValue(arg, path))).toString('base64');
        case 'Fn::ImportValue':
          return `twin-import:${resolveValue(arg, path)}`;
        case 'Fn::Length':
          return (resolveValue(arg, path) as any[]).length;
        case 'Fn::ToJsonString':
          return JSON.stringify(resolveValue(arg, path));
        case 'Fn::Cidr': {
          const [block, count, bits] = (arg as any[]).map((v) => resolveValue(v, path));
          const [a, b] = String(block).split('.');
          return Array.from({ length: Number(count) }, (_, i) => `${a}.${b}.${i}.0/${32 - Number(bits)}`);
        }
      }
    }
    const out: Record<string, any> = {};
    for (const [k, v] of Object.entries(value)) {
      const resolved = resolveValue(v, path);
      if (resolved !== NO_VALUE) out[k] = resolved;
    }
    return out;
  };

  // --- the view -----------------------------------------------------------------------------------
  for (const id of Object.keys(raw)) if (raw[id].Condition === undefined || condition(raw[id].Condition)) live.push(id);
  for (const id of live) liveSet.add(id);
  const resources: Record<string, TwinResource> = {};
  for (const id of live) {
    const r = raw[id];
    resources[id] = {
      Type: r.Type,
      Properties: resolveValue(r.Properties ?? {}, [id]),
      DependsOn: asList(r.DependsOn),
      Metadata: r.Metadata ?? {},
    };
  }
  const outputs: Record<string, string> = {};
  for (const [name, output] of Object.entries<any>(template.Outputs ?? {})) {
    if (output.Condition !== undefined && !condition(output.Condition)) continue;
    const v = resolveValue(output.Value, []);
    outputs[name] = typeof v === 'string' ? v : JSON.stringify(v);
  }

  const need = (id: string) => {
    if (!liveSet.has(id)) throw new Error(`no resource ${id} in ${stackName}`);
    return raw[id];
  };
  const physicalId = (id: string) => (need(id), physicalRef(id, []));
  const arn = (id: string): string => {
    const type = need(id).Type;
    if (
      type === 'AWS::SecretsManager::Secret' ||
      type === 'AWS::SecretsManager::SecretTargetAttachment' ||
      type === 'AWS::IAM::ManagedPolicy' ||
      type === 'AWS::SNS::Topic'
    )
      return physicalId(id);
    if (type === 'AWS::Lambda::Version') return physicalId(id);
    return String(attribute(id, type === 'AWS::RDS::DBCluster' ? 'DBClusterArn' : 'Arn', []));
  };

  const byValue = new Map<string, string>();
  for (const id of live) {
    try {
      if (!byValue.has(arn(id))) byValue.set(arn(id), id);
    } catch {
      // a resource without an ARN
    }
  }
  for (const id of live) if (!byValue.has(physicalId(id))) byValue.set(physicalId(id), id);
  const logicalIdOf = (value: string) => byValue.get(value);
  const ofType = (type: string) => live.filter((id) => raw[id].Type === type);

  const assetDirOrUndefined = (id: string): string | undefined => {
    const assetPath = need(id).Metadata?.['aws:asset:path'];
    if (typeof assetPath !== 'string') return undefined;
    return isAbsolute(assetPath) ? assetPath : join(cdkOutDir, assetPath);
  };
  const assetDir = (id: string) => {
    const dir = assetDirOrUndefined(id);
    if (!dir) throw new Error(`${id} has no aws:asset:path (inline code or not an asset)`);
    if (!existsSync(dir)) throw new Error(`asset folder of ${id} is missing: ${dir}`);
    return dir;
  };

  let functionCache: Record<string, TwinFunction> | undefined;
  const functions = () => {
    if (functionCache) return functionCache;
    functionCache = {};
    for (const id of ofType('AWS::Lambda::Function')) {
      const p = resources[id]!.Properties;
      const roleId = typeof p.Role === 'string' ? logicalIdOf(p.Role) : undefined;
      functionCache[id] = {
        logicalId: id,
        name: physicalId(id),
        arn: arn(id),
        handler: p.Handler,
        runtime: p.Runtime,
        timeout: Number(p.Timeout ?? 3),
        memory: Number(p.MemorySize ?? 128),
        environment: Object.fromEntries(Object.entries<any>(p.Environment?.Variables ?? {}).map(([k, v]) => [k, String(v)])),
        roleLogicalId: roleId && raw[roleId].Type === 'AWS::IAM::Role' ? roleId : undefined,
        reservedConcurrency: p.ReservedConcurrentExecutions === undefined ? undefined : Number(p.ReservedConcurrentExecutions),
        architectures: p.Architectures ?? ['x86_64'],
        assetDir: assetDirOrUndefined(id),
        tracing: p.TracingConfig?.Mode === 'Active' ? 'Active' : 'PassThrough',
      };
    }
    return functionCache;
  };

  const policiesOfRole = (roleId: string): RolePolicies => {
    if (need(roleId).Type !== 'AWS::IAM::Role') throw new Error(`${roleId} is not an AWS::IAM::Role`);
    const roleName = physicalId(roleId);
    const role = resources[roleId]!.Properties;
    const policies: RolePolicies['policies'] = [];
    const unresolvedManagedPolicyArns: string[] = [];
    for (const inline of role.Policies ?? []) policies.push({ name: `${roleId}/${inline.PolicyName}`, policy: inline.PolicyDocument });
    const attachedManaged = new Set<string>(role.ManagedPolicyArns ?? []);
    for (const id of ofType('AWS::IAM::Policy')) {
      const p = resources[id]!.Properties;
      if ((p.Roles ?? []).includes(roleName)) policies.push({ name: p.PolicyName ?? id, policy: p.PolicyDocument });
    }
    for (const id of ofType('AWS::IAM::ManagedPolicy')) {
      const p = resources[id]!.Properties;
      if ((p.Roles ?? []).includes(roleName)) attachedManaged.add(physicalId(id));
    }
    for (const managedArn of attachedManaged) {
      const local = logicalIdOf(managedArn);
      if (local && raw[local].Type === 'AWS::IAM::ManagedPolicy')
        policies.push({ name: managedArn, policy: resources[local]!.Properties.PolicyDocument });
      else if (KNOWN_MANAGED_POLICIES[managedArn]) policies.push({ name: managedArn, policy: KNOWN_MANAGED_POLICIES[managedArn] });
      else unresolvedManagedPolicyArns.push(managedArn);
    }
    return { policies, unresolvedManagedPolicyArns };
  };

  const bucketPolicy = (bucketNameOrId: string) => {
    const bucketName = liveSet.has(bucketNameOrId) ? physicalId(bucketNameOrId) : bucketNameOrId;
    for (const id of ofType('AWS::S3::BucketPolicy')) {
      const p = resources[id]!.Properties;
      if (p.Bucket === bucketName) return p.PolicyDocument;
    }
    return undefined;
  };

  return {
    stackName,
    cdkOutDir,
    templateFile: options.templateFile ?? '',
    resources,
    outputs,
    physicalId,
    arn,
    getAtt: (id, attr) => (need(id), attribute(id, attr, [])),
    logicalIdOf,
    ofType,
    assetDir,
    functions,
    policiesOfRole,
    bucketPolicy,
  };
};
