/**
 * How a size or a change is written for people: one decimal, halves away from zero, on the
 * number's shortest decimal form (`String(x)`), not its binary expansion. 38.25 is written
 * 38.3 and 0.15 is written 0.2, as a reader rounding by hand would. `toFixed(1)` rounds the
 * binary value instead (0.15 gives 0.1) and Python's `format` rounds it half to even (38.25
 * gives 38.2), so the screen and the report disagreed on such sums. This is the twin of
 * `measurement/figures.py`, which the reports and key images use: a number reads the same
 * on screen and on paper.
 */
export function tenths(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`cannot write ${value} as a figure`);
  const size = Math.abs(value);
  const text = String(size);
  let digits: bigint;
  if (text.includes('e')) {
    if (size >= 1) return value.toFixed(1); // 1e21 and over: no decimals to round
    digits = 0n; // under 1e-6: nothing left at one decimal
  } else {
    const [whole, fraction = ''] = text.split('.');
    digits = BigInt(whole + (fraction[0] ?? '0')) + ((fraction[1] ?? '0') >= '5' ? 1n : 0n);
  }
  const shown = digits.toString().padStart(2, '0');
  const sign = value < 0 && digits !== 0n ? '-' : '';
  return `${sign}${shown.slice(0, -1)}.${shown.slice(-1)}`;
}

/** `value` with one decimal and its sign as the panels write it: "+2.5", "−2.5", "0.0". */
export function signedTenths(value: number): string {
  const text = tenths(Math.abs(value));
  if (text === '0.0') return text;
  return `${value > 0 ? '+' : '−'}${text}`;
}
