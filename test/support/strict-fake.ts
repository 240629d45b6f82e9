/**
 * A fake that implements only what a test gives it: touching any other member throws, so a
 * service that starts calling something new fails its unit tests instead of passing silently.
 */
export function strictFake<T extends object>(impl: Partial<T>, name = 'fake'): T {
  return new Proxy(impl, {
    get(target, prop, receiver) {
      if (prop in target) return Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'then' || typeof prop === 'symbol') return undefined;
      throw new Error(`${name}.${String(prop)} was used but the test did not expect it`);
    },
  }) as T;
}
