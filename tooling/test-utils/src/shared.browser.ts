/** In a browser there is no `../shared` folder to read: every test that needs it skips. */
export function sharedDir(...parts: string[]): { path?: undefined; reason: string } {
  const reason = `shared data (${parts.join('/')}) is not readable from a browser test`;
  console.warn(`[harness] ${reason}`);
  return { reason };
}
