/**
 * The access token of this browser tab. It lives in sessionStorage only: never in a URL,
 * a cookie or a log, and it is gone when the tab closes or the user signs out.
 */
const KEY = 'nadir.token';

export function currentToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function signIn(token: string): void {
  sessionStorage.setItem(KEY, token.trim());
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
  // Per-tab remembered choices (comparison ids) go with the token.
  for (const key of Object.keys(sessionStorage)) {
    if (key.startsWith('nadir.')) sessionStorage.removeItem(key);
  }
}

/** Send the user to the sign-in page, coming back to `next` (a path, never the token). */
export function goToLogin(next: string = location.pathname): void {
  const query = next && next !== '/login' ? `?next=${encodeURIComponent(next)}` : '';
  location.assign(`/login${query}`);
}
