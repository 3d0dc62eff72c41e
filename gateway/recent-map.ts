/**
 * Sets `key` in `map` as its most recent entry (a Map iterates in insertion order, so deleting
 * first moves an existing key to the end), then drops the least recent entry while the map holds
 * more than `max`. The bounded per-sensor maps (quality state, retained topics, announced HA
 * alerts) use it, so a runaway publisher of sensor ids costs at most `max` entries.
 */
export function setMostRecent<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) map.delete(map.keys().next().value as K);
}
