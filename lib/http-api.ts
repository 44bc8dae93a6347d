/**
 * The HTTP API: one route per entry of functions/routes.ts, each to its own function. Every route but
 * the public ones requires IAM (SigV4) authorization, or a JWT when the stack is deployed with
 * authMode=jwt. The stage throttles and writes an access log line per request.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  type CfnStage,
  CorsHttpMethod,
  type CorsPreflightOptions,
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  type IHttpRouteAuthorizer,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS, CORS_MAX_AGE_SECONDS, corsAllowMethods } from '../functions/http/cors';
import { type RouteDefinition, routeId } from '../functions/routes';
import { acknowledgeNag } from './nag';
import type { StackSettings } from './stack-settings';

export interface ApiRoute {
  route: RouteDefinition;
  function: IFunction;
}

export interface HttpEndpointProps {
  routes: readonly ApiRoute[];
  settings: Pick<StackSettings, 'authMode' | 'jwtIssuer' | 'jwtAudience' | 'corsOrigins'>;
}

/**
 * API Gateway answers preflights itself, before any authorizer, and adds these headers to the routes'
 * answers for an allowed Origin. No credentials: clients send a bearer JWT or SigV4 headers, not cookies.
 */
export const corsPreflightOf = (origins: readonly string[], routes: readonly RouteDefinition[]): CorsPreflightOptions | undefined =>
  origins.length === 0
    ? undefined
    : {
        allowOrigins: [...origins],
        allowMethods: corsAllowMethods(routes).map((method) => CorsHttpMethod[method]),
        allowHeaders: CORS_ALLOW_HEADERS,
        exposeHeaders: CORS_EXPOSE_HEADERS,
        maxAge: Duration.seconds(CORS_MAX_AGE_SECONDS),
      };

/** Steady-state and burst requests per second for the whole stage; API Gateway answers 429 beyond them. */
export const STAGE_THROTTLE = { rateLimit: 50, burstLimit: 100 };
/**
 * The public routes' own limit, lower than the stage default (route settings on the stage): anyone may
 * call them unsigned, so a flood of them is answered 429 sooner and runs fewer invocations.
 */
export const PUBLIC_ROUTE_THROTTLE = { rateLimit: 5, burstLimit: 10 };

export class HttpEndpoint extends Construct {
  readonly api: HttpApi;
  readonly url: string;

  constructor(scope: Construct, id: string, props: HttpEndpointProps) {
    super(scope, id);
    const authorizer: IHttpRouteAuthorizer =
      props.settings.authMode === 'jwt'
        ? new HttpJwtAuthorizer('Jwt', props.settings.jwtIssuer!, { jwtAudience: props.settings.jwtAudience })
        : new HttpIamAuthorizer();

    const corsPreflight = corsPreflightOf(
      props.settings.corsOrigins,
      props.routes.map(({ route }) => route),
    );
    this.api = new HttpApi(this, 'Api', {
      description: 'interview-ops: sessions, transcripts and sandbox snapshots',
      defaultAuthorizer: authorizer,
      createDefaultStage: false,
      ...(corsPreflight ? { corsPreflight } : {}),
    });
    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    const stage = this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: STAGE_THROTTLE,
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs) },
    });

    // RouteSettings is a JSON map in CloudFormation: CDK passes it through as written, so the keys are
    // CloudFormation's own (PascalCase), not CfnStage.RouteSettingsProperty's.
    const publicRouteSettings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};
    for (const { route, function: fn } of props.routes) {
      const [added] = this.api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: new HttpLambdaIntegration(`${route.method}${route.path}`, fn),
        ...(route.public ? { authorizer: new HttpNoneAuthorizer() } : {}),
      });
      if (route.public && added) {
        acknowledgeNag(
          added,
          'APIG4',
          `${routeId(route)} is public by design in functions/routes.ts: it reveals no session data and has its own, lower throttle.`,
        );
        publicRouteSettings[routeId(route)] = {
          ThrottlingRateLimit: PUBLIC_ROUTE_THROTTLE.rateLimit,
          ThrottlingBurstLimit: PUBLIC_ROUTE_THROTTLE.burstLimit,
        };
        // API Gateway refuses route settings for a route key that does not exist yet.
        stage.node.addDependency(added);
      }
    }
    if (Object.keys(publicRouteSettings).length > 0) (stage.node.defaultChild as CfnStage).routeSettings = publicRouteSettings;

    this.url = stage.url;
  }
}
