/*
 * Errno values in messages, by name: a refused bind reads `(-28 ENOSPC)`, not `(-28)`.
 */
import { Errno } from '@evtchn/core';

const ERRNO_NAMES = new Map(Object.entries(Errno).map(([name, n]) => [n as number, name]));

/** Adds the errno's name to every `(-N)` in a message. */
export function nameErrnos(message: string): string {
  return message.replace(/\((-\d+)\)/g, (m, n: string) => {
    const name = ERRNO_NAMES.get(-Number(n));
    return name ? `(${n} ${name})` : m;
  });
}

