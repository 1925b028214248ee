/** /login: the access token goes into this tab's sessionStorage, nowhere else. */
import { signIn, signOut } from '../api/session';
import { h } from '../panels/dom';

export function loginPage(root: HTMLElement): void {
  signOut();
  const token = h('input', {
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: false,
    required: true,
    placeholder: 'ndr_…',
    'aria-label': 'Access token',
  });
  const problem = h('p', { class: 'problem', role: 'alert', hidden: true });
  const form = h('form', {
    class: 'login-form',
    onsubmit: async (e: Event) => {
      e.preventDefault();
      problem.hidden = true;
      const value = token.value.trim();
      // Checked with a plain request: the token must open the worklist.
      const response = await fetch('/api/v1/patients', { headers: { Authorization: `Bearer ${value}` } });
      if (response.status === 403) {
        // A share's token opens its review case only (no worklist).
        const review = await shareReview(value);
        if (review !== null) {
          signIn(value);
          location.assign(`/cases/${review}`);
          return;
        }
      }
      if (!response.ok) {
        problem.textContent = response.status === 401
          ? 'This token is not valid, or it was revoked.'
          : response.status === 403
            ? 'This token cannot open patient records (its role only uploads images).'
            : `Sign-in failed (${response.status}).`;
        problem.hidden = false;
        return;
      }
      signIn(value);
      location.assign(nextPath());
    },
  },
  h('label', { for: 'token' }, 'Access token'),
  token,
  h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
  problem,
  h('p', { class: 'hint' }, 'Your administrator gives you a token (nadir users create). It is kept in this browser tab only, until you sign out or close the tab.'),
  );
  token.id = 'token';
  root.replaceChildren(
    h('main', { class: 'login' },
      h('h1', {}, 'Nadir'),
      h('p', { class: 'lead' }, 'Tumour-response review: baseline and follow-up scans side by side.'),
      form),
  );
  token.focus();
}

/** The review case of a share's token (role reviewer), or null for any other token. */
async function shareReview(token: string): Promise<number | null> {
  const me = await fetch('/api/v1/me', { headers: { Authorization: `Bearer ${token}` } });
  if (!me.ok) return null;
  const who = (await me.json()) as { role?: string; review_case_id?: number | null };
  return who.role === 'reviewer' && typeof who.review_case_id === 'number' ? who.review_case_id : null;
}

function nextPath(): string {
  const next = new URLSearchParams(location.search).get('next') ?? '/';
  // Only a path of this site: never another origin.
  return next.startsWith('/') && !next.startsWith('//') ? next : '/';
}
