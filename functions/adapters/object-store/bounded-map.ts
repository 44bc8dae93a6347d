/**
 * A Map that forgets its oldest entry once it holds `limit`: for caches of facts that can always be
 * worked out again, kept so a long-lived process does not grow without end.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly limit: number) {
    super();
  }

  override set(key: K, value: V): this {
    if (this.size >= this.limit && !this.has(key)) this.delete(this.keys().next().value!);
    return super.set(key, value);
  }
}
