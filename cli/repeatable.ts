/**
 * commander's accumulator for a repeatable option (`--dns A --dns B`), kept
 * in a module of its own so command registration loads nothing else.
 *
 * @module
 */

/** Append `value` to the values given so far. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
