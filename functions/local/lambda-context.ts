import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

/** A Lambda context for local invocations, so handlers and the Powertools logger see what AWS gives them. */
class LocalLambdaContext implements Context {
  callbackWaitsForEmptyEventLoop = false;
  functionVersion = '$LATEST';
  memoryLimitInMB = '1024';
  logStreamName = 'local';
  awsRequestId = randomUUID();
  invokedFunctionArn: string;
  logGroupName: string;
  private readonly deadline: number;

  constructor(
    readonly functionName: string,
    timeoutMs: number,
  ) {
    this.invokedFunctionArn = `arn:aws:lambda:local:000000000000:function:${functionName}`;
    this.logGroupName = `/aws/lambda/${functionName}`;
    this.deadline = Date.now() + timeoutMs;
  }

  getRemainingTimeInMillis() {
    return Math.max(0, this.deadline - Date.now());
  }

  done() {}
  fail() {}
  succeed() {}
}

export const localLambdaContext = (functionName: string, timeoutMs: number): Context => new LocalLambdaContext(functionName, timeoutMs);
