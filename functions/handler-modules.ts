/** Loads functions/handlers/<name>.ts the way a Lambda runtime loads its entry point: once, then kept warm. */
const loaded = new Map<string, Promise<(event: unknown, context: unknown) => Promise<unknown>>>();

export const loadHandler = <Event, Result>(name: string) => {
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`invalid handler name: ${name}`);
  let handler = loaded.get(name);
  if (!handler) {
    handler = import(`./handlers/${name}.ts`).then((module: { handler?: unknown }) => {
      if (typeof module.handler !== 'function') throw new Error(`functions/handlers/${name}.ts exports no handler`);
      return module.handler as (event: unknown, context: unknown) => Promise<unknown>;
    });
    loaded.set(name, handler);
  }
  return handler as Promise<(event: Event, context: import('aws-lambda').Context) => Promise<Result>>;
};
