/* Small text helpers for messages (internal: not exported from the package). */

/** The indefinite article for a word in a message (`an abi`, `a policy`). */
export function aOrAn(word: string): string {
  return /^[aeiou]/i.test(word) ? 'an' : 'a';
}
