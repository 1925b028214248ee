/** The header every signed-in page shares: where you are, who is signed in, signing out. */
import { api } from '../api/client';
import { signOut } from '../api/session';
import type { Me } from '../api/types';
import { h } from '../panels/dom';

/** `who`: who is signed in (GET /api/v1/me, asked once per page); the review asks it only
 * after its first images are drawn. */
export function pageHeader(title: (Node | string)[], extra: (Node | string)[] = [], who: () => Promise<Me> = api.me): HTMLElement {
  return h('header', { class: 'top' },
    h('a', { href: '/', class: 'brand' }, 'Nadir'),
    h('div', { class: 'title' }, title),
    h('nav', {}, extra,
      signedInAs(who),
      h('button', {
        type: 'button',
        class: 'sign-out',
        onclick: () => {
          signOut();
          location.assign('/login');
        },
      }, 'Sign out')),
  );
}

/** "Signed in as NAME, ROLE", from GET /api/v1/me; `data-user-name` and `data-user-role` for automation. */
function signedInAs(me: () => Promise<Me>): HTMLElement {
  const who = h('span', { class: 'signed-in', 'aria-live': 'polite' }, 'Signed in as …');
  me().then(
    (me: Me) => {
      who.dataset.userName = me.name ?? '';
      who.dataset.userRole = me.role;
      who.title = `Signed in as ${me.name ?? 'unknown'} with the role ${me.role}`;
      who.replaceChildren(h('span', { class: 'user-name' }, me.name ?? '—'), h('span', { class: 'user-role' }, me.role));
    },
    () => {
      who.textContent = 'Signed in as (unknown)';
    },
  );
  return who;
}
