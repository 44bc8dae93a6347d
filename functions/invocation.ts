/**
 * The running invocation's deadline, for adapters that wait (the Data API adapter while Aurora resumes).
 * Lambda runs one invocation at a time in an environment, so one value per process is exact there; the
 * local stack, which runs handlers side by side, uses no adapter that reads it.
 */
import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';

let deadline: number | undefined;

/** middy: records when this invocation's time runs out. */
export const trackInvocationDeadline = <E, R>(): MiddlewareObj<E, R, Error, Context> => ({
  before: ({ context }) => {
    deadline = Date.now() + context.getRemainingTimeInMillis();
  },
});

/** Milliseconds the current invocation has left; undefined outside one. */
export const invocationTimeLeftMs = (): number | undefined => (deadline === undefined ? undefined : deadline - Date.now());
