import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** The seed's response envelope. */
export interface SuccessEnvelope<T> {
  success: true;
  message: string;
  data: T;
}

export interface ErrorEnvelope {
  success: false;
  message: string;
  error: string;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

export const successResponse = <T>(statusCode: number, message: string, data: T): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: JSON_HEADERS,
  body: JSON.stringify({ success: true, message, data } satisfies SuccessEnvelope<T>),
});

export const errorResponse = (
  statusCode: number,
  message: string,
  error: string,
  retryAfterSeconds?: number,
): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: retryAfterSeconds === undefined ? JSON_HEADERS : { ...JSON_HEADERS, 'retry-after': String(retryAfterSeconds) },
  body: JSON.stringify({ success: false, message, error } satisfies ErrorEnvelope),
});
