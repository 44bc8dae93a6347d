import { DomainError } from '../../functions/core/errors';

/** Runs code that must refuse its input and returns the DomainError it threw; anything else fails the test. */
export const refusal = (run: () => unknown): DomainError => {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
};

/** The same for a promise that must reject with a DomainError. */
export const asyncRefusal = async (promise: Promise<unknown>): Promise<DomainError> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
};
