/** The header every signed-in page shares: where you are, and signing out. */
import { signOut } from '../api/session';
import { h } from '../panels/dom';

export function pageHeader(title: (Node | string)[], extra: (Node | string)[] = []): HTMLElement {
  return h('header', { class: 'top' },
    h('a', { href: '/', class: 'brand' }, 'Nadir'),
    h('div', { class: 'title' }, title),
    h('nav', {}, extra,
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
