/**
 * What the reader has typed or chosen in a panel's forms and not yet sent.
 *
 * A panel draws its forms anew whenever the case changes (a measurement saved, another
 * reader's change arriving, a lesion selected): the new fields show what is stored, so
 * without a draft a half-typed organ or label vanished once the focus had left the form.
 * The draft keeps, per form and field, only what differs from what the field shows from
 * stored data, and the fields drawn next take it back. A form whose draft holds the page asks
 * the reader before they leave it (`beforeunload`), as a change not yet saved does.
 */

export type FieldValue = string | boolean;

/** The drafts of a panel's forms, each form by a key naming it and its subject. */
export class Drafts {
  private readonly forms = new Map<string, Map<string, FieldValue>>();
  private readonly holding = new Set<string>();

  /**
   * The reader set `field` of form `key` to `value`, where the form shows `stored` from the
   * case: a value back to what is stored is no longer a draft. `holdsPage`: whether the
   * form's draft holds the page.
   */
  set(key: string, field: string, value: FieldValue, stored: FieldValue, holdsPage: boolean): void {
    let form = this.forms.get(key);
    if (value === stored) {
      form?.delete(field);
      if (form && form.size === 0) this.clear(key);
      return;
    }
    if (!form) this.forms.set(key, (form = new Map()));
    form.set(field, value);
    if (holdsPage) this.holding.add(key);
  }

  /**
   * The draft's values for a form drawn anew, showing `stored`: a field whose stored value
   * has meanwhile become what the reader typed (their change saved, or the same change made
   * elsewhere) is no longer a draft.
   */
  restore(key: string, stored: ReadonlyMap<string, FieldValue>): Map<string, FieldValue> {
    const form = this.forms.get(key);
    if (!form) return new Map();
    for (const [field, value] of [...form]) {
      if (stored.get(field) === value || !stored.has(field)) form.delete(field);
    }
    if (form.size === 0) this.clear(key);
    return new Map(form);
  }

  /** The form was sent and done: its draft is gone. */
  clear(key: string): void {
    this.forms.delete(key);
    this.holding.delete(key);
  }

  /** Keep only the drafts whose key `keep` accepts (those of lesions still in the case). */
  retain(keep: (key: string) => boolean): void {
    for (const key of [...this.forms.keys()]) if (!keep(key)) this.clear(key);
  }

  /** Whether a draft of a form that holds the page is left. */
  holdsPage(): boolean {
    return this.holding.size > 0;
  }

  /** The draft of one form, for tests and for a form's own checks. */
  of(key: string): ReadonlyMap<string, FieldValue> {
    return this.forms.get(key) ?? new Map();
  }
}

type Field = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

function valueOf(field: Field): FieldValue {
  return field instanceof HTMLInputElement && field.type === 'checkbox' ? field.checked : field.value;
}

/** Put a draft's value in a field; false when the field cannot hold it (a choice that is no
 * longer offered: a lesion merged into was deleted, a timepoint left the case). */
function put(field: Field, value: FieldValue): boolean {
  if (field instanceof HTMLInputElement && field.type === 'checkbox') {
    field.checked = value === true;
    return true;
  }
  if (typeof value !== 'string') return false;
  if (field instanceof HTMLSelectElement && ![...field.options].some((option) => option.value === value)) return false;
  field.value = value;
  return true;
}

/**
 * Give the fields of a form just drawn (showing stored data) what the reader had put in them,
 * and keep the draft as they go on. Fields are known by their `name`. A restored field fires
 * `change`, so that what depends on it (a row shown for one kind only) follows, and a field
 * holding a draft carries `data-draft` (styled as not yet sent).
 */
export function keepDraft(drafts: Drafts, key: string, fields: readonly Field[], holdsPage: boolean): void {
  const stored = new Map(fields.map((field) => [field.name, valueOf(field)] as const));
  const kept = drafts.restore(key, stored);
  for (const field of fields) {
    // `data-draft` marks a field whose value is the reader's and not yet sent.
    const record = () => {
      drafts.set(key, field.name, valueOf(field), stored.get(field.name) ?? '', holdsPage);
      field.toggleAttribute('data-draft', drafts.of(key).has(field.name));
    };
    field.addEventListener('input', record);
    field.addEventListener('change', record);
    const value = kept.get(field.name);
    if (value === undefined) continue;
    if (put(field, value)) field.dispatchEvent(new Event('change'));
    else record(); // the field shows what is stored: that draft is gone
  }
}
