/**
 * The RDS Data API's errors as its restJson1 protocol carries them: the HTTP status from the Smithy model
 * (@aws-sdk/client-rds-data dist-cjs, the `httpError` trait of each error schema), the error name in the
 * `x-amzn-errortype` header, and a body of `{ message }` (plus `dbConnectionId` for a statement timeout).
 * The SDK reads the header first, then a body `code`, then `__type` (loadRestJsonErrorCode), and builds
 * the exception class of that name.
 */

/** Status codes of the Smithy model, by error name. */
const STATUS = {
  AccessDeniedException: 403,
  BadRequestException: 400,
  DatabaseErrorException: 400,
  DatabaseNotFoundException: 404,
  DatabaseResumingException: 400,
  DatabaseUnavailableException: 504,
  ForbiddenException: 403,
  HttpEndpointNotEnabledException: 400,
  InternalServerErrorException: 500,
  InvalidSecretException: 400,
  SecretsErrorException: 400,
  ServiceUnavailableError: 503,
  StatementTimeoutException: 400,
  TransactionNotFoundException: 404,
  UnsupportedResultException: 400,
  // Not in the model: what AWS front ends answer for a path that names no operation.
  UnknownOperationException: 404,
  // The Gate's refusals for a bad signature or an unknown key (docs/twin.md).
  InvalidSignatureException: 403,
  UnrecognizedClientException: 403,
  AccessDenied: 403,
} as const;

export type DataApiErrorName = keyof typeof STATUS;

export class DataApiError extends Error {
  readonly status: number;
  constructor(
    readonly type: DataApiErrorName,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = type;
    this.status = STATUS[type];
  }
}

/**
 * Messages of the real service, each with where it was found. Tests compare against these constants.
 *
 * - RESPONSE_TOO_LARGE: the message of the BadRequestException AWS answers for a result over 1 MiB, as
 *   reported from the live service (cloud-utils/sqlalchemy-aurora-data-api#38, 2022; also the text the
 *   project's adapter maps to ResultTooLargeError). The Aurora troubleshooting page heads the same case
 *   "Database response exceeded size limit", the wording the service used before (cloud-utils/aurora-data-api#1, 2019).
 * - ROW_TOO_LARGE: the Aurora User Guide's "Troubleshooting Amazon RDS Data API" page heads the refusal
 *   of a row over 64 KB "Packet for query is too large" ("The Data API size limit is 64 KB per row in
 *   the result set returned by the database").
 * - transactionNotFound: the same page, "Transaction <transaction_ID> is not found"; live reports show
 *   it as a BadRequestException (jeremydaly/data-api-client#96).
 * - endpointNotEnabled: what the service answers for a cluster ARN it cannot serve (a cluster that does
 *   not exist or has no Data API), as seen in live reports ("HttpEndpoint is not enabled for resource <arn>").
 * - STATEMENT_TIMEOUT: the message reported for the 45 s call timeout (aws/aws-sdk-js#3385).
 * - resuming: the DatabaseResumingException doc comment in the SDK ("the Aurora Serverless DB instance
 *   was paused ... Wait a few seconds and try again"); the exact live wording is not documented.
 * - REQUEST_TOO_LARGE: the 4 MiB request limit is documented (BatchExecuteStatementCommand.d.ts, "the
 *   Data API returns an error and doesn't process the request"); its wording is not, this one is ours.
 */
export const MESSAGES = {
  RESPONSE_TOO_LARGE: 'Database returned more than the allowed response size limit',
  ROW_TOO_LARGE: 'Packet for query is too large',
  STATEMENT_TIMEOUT: 'Request timed out',
  REQUEST_TOO_LARGE: 'Request size exceeds the Data API limit of 4 MiB',
  EXECUTE_SQL_DEPRECATED: 'This API is deprecated and not available. Use ExecuteStatement API instead',
  transactionNotFound: (id: string) => `Transaction ${id} is not found`,
  endpointNotEnabled: (arn: string) => `HttpEndpoint is not enabled for resource ${arn}`,
  secretNotFound: (arn: string) => `Error fetching secret ${arn}: Secrets Manager can't find the specified secret.`,
  databaseNotFound: (name: string) => `FATAL: database "${name}" does not exist`,
  resuming: (cluster: string) =>
    `The Aurora DB instance ${cluster} is resuming after being auto-paused. Please wait a few seconds and try again.`,
} as const;
