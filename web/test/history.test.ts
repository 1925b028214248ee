import { describe, expect, it } from 'vitest';
import type { Lesion, Measurement, MeasurementPut } from '../src/api/types';
import { PendingSaves } from '../src/measure/pending';
import type { SaveKind, SaveOutcome } from '../src/measure/save';
import { ChangeHistory, type HistoryHost } from '../src/review/history';

const lesion = { id: 7, label: 'T1' } as Lesion;
const reading = (length: number): Measurement =>
  ({ sop_instance_uid: '1.2.3', frame: null, endpoints: [[0, 0], [0, length]], length_mm: length }) as unknown as Measurement;

/** A save whose answer the test gives: each call waits until `answer` is called. */
class Saves {
  readonly sent: { kind: SaveKind; body: MeasurementPut }[] = [];
  readonly waiting: ((outcome: SaveOutcome) => void)[] = [];
  underWay = 0;
  most = 0;

  readonly save = async (host: HistoryHost, _l: Lesion, _tp: string, body: MeasurementPut, options: { kind?: SaveKind } = {}) => {
    // As saveMeasurement does: the save is under way until its outcome.
    host.pending.begin(options.kind ?? 'change');
    this.underWay++;
    this.most = Math.max(this.most, this.underWay);
    this.sent.push({ kind: options.kind ?? 'change', body });
    try {
      return await new Promise<SaveOutcome>((resolve) => this.waiting.push(resolve));
    } finally {
      this.underWay--;
      host.pending.end();
    }
  };

  answer(outcome: SaveOutcome = 'saved'): void {
    this.waiting.shift()!(outcome);
  }
}

function setUp() {
  const notes: string[] = [];
  const pending = new PendingSaves();
  const host = {
    pending,
    lesion: (id: number) => (id === lesion.id ? lesion : undefined),
    timepointName: () => 'Baseline',
    notify: (text: string) => notes.push(text),
  } as unknown as HistoryHost;
  const saves = new Saves();
  const history = new ChangeHistory(host, saves.save as never);
  return { history, saves, pending, notes, host };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('ChangeHistory', () => {
  it('does a second undo asked while the first is written after it, never both at once', async () => {
    const { history, saves } = setUp();
    history.record(7, 'BL', reading(10), reading(12));
    history.record(7, 'BL', reading(12), reading(15));
    const first = history.undo();
    const second = history.undo();
    await settle();
    expect(saves.sent.map((s) => s.body.endpoints)).toEqual([[[0, 0], [0, 12]]]);
    expect(history.waiting).toBe(1);
    expect(history.busy).toBe(true);
    saves.answer();
    await first;
    await settle();
    expect(saves.sent.map((s) => s.body.endpoints)).toEqual([[[0, 0], [0, 12]], [[0, 0], [0, 10]]]);
    saves.answer();
    await second;
    await settle();
    expect(saves.most).toBe(1);
    expect(saves.sent.every((s) => s.kind === 'undo' && s.body.reason === 'undo')).toBe(true);
    expect(history.stack.canUndo).toBe(false);
    expect(history.stack.canRedo).toBe(true);
    expect(history.busy).toBe(false);
    expect(history.waiting).toBe(0);
  });

  it('waits for a change still being saved, then undoes that change, not the one before', async () => {
    const { history, saves, host } = setUp();
    history.record(7, 'BL', reading(10), reading(12));
    // The reader's new caliper is on its way when the key is pressed; as saveMeasurement
    // does, the desk records it once stored, before the save ends.
    let stored!: () => void;
    host.pending.begin('change');
    const change = new Promise<void>((resolve) => (stored = resolve)).then(() => {
      history.record(7, 'BL', reading(12), reading(20));
      host.pending.end();
    });
    const undo = history.undo();
    await settle();
    expect(saves.sent).toHaveLength(0);
    stored();
    await change;
    await settle();
    expect(saves.sent).toHaveLength(1);
    expect(saves.sent[0].body.endpoints).toEqual([[0, 0], [0, 12]]);
    saves.answer();
    await undo;
  });

  it('redoes in order after undoing', async () => {
    const { history, saves } = setUp();
    history.record(7, 'BL', reading(10), reading(12));
    const asked = [history.undo(), history.redo()];
    await settle();
    saves.answer();
    await settle();
    await settle();
    expect(saves.sent.map((s) => [s.kind, s.body.endpoints])).toEqual([
      ['undo', [[0, 0], [0, 10]]], ['redo', [[0, 0], [0, 12]]]]);
    saves.answer();
    await Promise.all(asked);
    expect(history.stack.canRedo).toBe(false);
  });

  it('drops what waits, saying so, when an undo is not stored', async () => {
    const { history, saves, notes } = setUp();
    history.record(7, 'BL', reading(10), reading(12));
    history.record(7, 'BL', reading(12), reading(15));
    const asked = [history.undo(), history.undo(), history.undo()];
    await settle();
    saves.answer('refused');
    await Promise.all(asked);
    expect(saves.sent).toHaveLength(1);
    expect(history.waiting).toBe(0);
    expect(notes.at(-1)).toBe('2 undos were not done: the undo before them was not stored.');
    expect(history.stack.nextUndo()?.after).toEqual(reading(15));
  });

  it('writes nothing while a change is left unsaved, and says which', async () => {
    const { history, saves, pending, notes } = setUp();
    history.record(7, 'BL', reading(10), reading(12));
    pending.saving(7, 'BL', {} as MeasurementPut, 20, 'change');
    pending.failed(7, 'BL', 'no connection to the server');
    await history.undo();
    expect(saves.sent).toHaveLength(0);
    expect(notes.at(-1)).toBe('The undo was not done: a change of T1 at Baseline is not saved: Retry or Discard it first.');
  });

  it('drops an undo when the reader makes a new change before its turn', async () => {
    const { history, saves, host, notes } = setUp();
    history.record(7, 'BL', reading(10), reading(12));
    history.record(7, 'BL', reading(12), reading(15));
    const first = history.undo();
    const second = history.undo();
    await settle();
    // A new caliper, drawn while the first undo is written.
    const change = saves.save(host, lesion, 'BL', { endpoints: [[0, 0], [0, 30]] } as MeasurementPut);
    saves.answer(); // the first undo
    saves.answer(); // the new change
    await Promise.all([first, second, change]);
    expect(saves.sent.map((s) => s.kind)).toEqual(['undo', 'change']);
    expect(notes.at(-1)).toBe('The undo was not done: you made a new change before its turn.');
  });

  it('does nothing, and says nothing, with nothing to undo', async () => {
    const { history, saves, notes } = setUp();
    await history.undo();
    await history.redo();
    expect(saves.sent).toHaveLength(0);
    expect(notes).toEqual([]);
  });
});
