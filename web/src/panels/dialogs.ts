/** Modal questions and passing notes, on native <dialog> elements. */
import { h } from './dom';

export function notify(text: string, kind: 'info' | 'error' = 'info'): void {
  let area = document.getElementById('notes');
  if (!area) {
    area = h('div', { id: 'notes', role: 'status', 'aria-live': 'polite' });
    document.body.append(area);
  }
  const note = h('div', { class: `note ${kind}` }, text);
  area.append(note);
  setTimeout(() => note.remove(), kind === 'error' ? 9000 : 4000);
}

interface Choice {
  label: string;
  value: string;
  primary?: boolean;
  /** Leaves without checking the form (Cancel, while a reason is required). */
  cancel?: boolean;
}

/** Show a modal with a title, body and buttons; resolves with the chosen value ('' on Esc). */
export function ask(title: string, body: (Node | string)[], choices: Choice[], input?: HTMLTextAreaElement): Promise<string> {
  return new Promise((resolve) => {
    const buttons = choices.map((c) =>
      h('button', { type: 'submit', value: c.value, class: c.primary ? 'primary' : '', formnovalidate: c.cancel ?? false }, c.label),
    );
    const form = h('form', { method: 'dialog' }, h('h2', {}, title), ...body.map((b) => (typeof b === 'string' ? h('p', {}, b) : b)), input ?? null, h('menu', {}, buttons));
    const dialog = h('dialog', { class: 'modal' }, form);
    document.body.append(dialog);
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue);
      dialog.remove();
    });
    dialog.showModal();
    (input ?? buttons.find((_, i) => choices[i].primary) ?? buttons[0])?.focus();
  });
}

/** Ask for a reason; null when cancelled or left empty. */
export async function askReason(title: string, body: (Node | string)[], okLabel: string): Promise<string | null> {
  const input = h('textarea', { name: 'reason', rows: 3, required: true, placeholder: 'Reason (kept with the new version)' });
  const answer = await ask(title, body, [
    { label: 'Cancel', value: 'cancel', cancel: true },
    { label: okLabel, value: 'ok', primary: true },
  ], input);
  const reason = input.value.trim();
  return answer === 'ok' && reason ? reason : null;
}
