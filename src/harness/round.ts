/** `n` rounded to `places` decimal places, as the summary records numbers (1.23456 → 1.235 at 3). */
export function roundTo(n: number, places: number): number {
  const scale = 10 ** places;
  return Math.round(n * scale) / scale;
}
