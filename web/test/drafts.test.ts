import { describe, expect, it } from 'vitest';
import { Drafts } from '../src/panels/drafts';

const shown = (entries: [string, string | boolean][]) => new Map(entries);

describe('Drafts', () => {
  it('keeps what differs from the stored value, and gives it back to the form drawn next', () => {
    const drafts = new Drafts();
    drafts.set('add', 'organ', 'liv', '', true);
    drafts.set('add', 'nodal', true, false, true);
    expect(drafts.holdsPage()).toBe(true);
    const kept = drafts.restore('add', shown([['organ', ''], ['nodal', false], ['kind', 'target']]));
    expect([...kept]).toEqual([['organ', 'liv'], ['nodal', true]]);
    // Drawn again and again: the draft stays until it is sent.
    expect([...drafts.restore('add', shown([['organ', ''], ['nodal', false]]))]).toEqual([['organ', 'liv'], ['nodal', true]]);
  });

  it('forgets a field set back to what is stored, and the form once nothing is left', () => {
    const drafts = new Drafts();
    drafts.set('edit:4', 'label', 'T9', 'T1', true);
    drafts.set('edit:4', 'label', 'T1', 'T1', true);
    expect(drafts.of('edit:4').size).toBe(0);
    expect(drafts.holdsPage()).toBe(false);
  });

  it('drops a field whose stored value has become what was typed (saved, or the same change elsewhere)', () => {
    const drafts = new Drafts();
    drafts.set('edit:4', 'label', 'T9', 'T1', true);
    drafts.set('edit:4', 'organ', 'liver', 'lung', true);
    const kept = drafts.restore('edit:4', shown([['label', 'T9'], ['organ', 'lung']]));
    expect([...kept]).toEqual([['organ', 'liver']]);
    expect(drafts.restore('edit:4', shown([['label', 'T9'], ['organ', 'liver']])).size).toBe(0);
    expect(drafts.holdsPage()).toBe(false);
  });

  it('keeps a draft over a stored value changed to something else, and a form without that field drops it', () => {
    const drafts = new Drafts();
    drafts.set('edit:4', 'label', 'T9', 'T1', true);
    drafts.set('edit:4', 'kind', 'non_target', 'target', true);
    // Relabelled elsewhere to T2: the reader's T9 stays; the form drawn has no kind field.
    expect([...drafts.restore('edit:4', shown([['label', 'T2']]))]).toEqual([['label', 'T9']]);
    expect([...drafts.of('edit:4')]).toEqual([['label', 'T9']]);
  });

  it('holds the page only for the forms that say so, and lets go once they are cleared', () => {
    const drafts = new Drafts();
    drafts.set('status:4', 'status', 'disappeared', 'present', false);
    expect(drafts.holdsPage()).toBe(false);
    drafts.set('add', 'organ', 'liver', '', true);
    expect(drafts.holdsPage()).toBe(true);
    drafts.clear('add');
    expect(drafts.holdsPage()).toBe(false);
    expect(drafts.of('status:4').get('status')).toBe('disappeared');
  });

  it('retains only the drafts the predicate accepts (a deleted lesion takes its drafts with it)', () => {
    const drafts = new Drafts();
    drafts.set('add', 'organ', 'liver', '', true);
    drafts.set('edit:4', 'label', 'T9', 'T1', true);
    drafts.set('edit:5', 'label', 'T8', 'T2', true);
    drafts.retain((key) => key !== 'edit:4');
    expect(drafts.of('edit:4').size).toBe(0);
    expect(drafts.of('edit:5').get('label')).toBe('T8');
    expect(drafts.of('add').get('organ')).toBe('liver');
    drafts.retain(() => false);
    expect(drafts.holdsPage()).toBe(false);
  });
});
