/**
 * The reader's own changes in this page, to undo and redo. Pure: a change is the value of
 * one lesion at one timepoint before and after; undoing writes the value before as a new
 * version (the server's history keeps everything), redoing writes the value after.
 */

export interface Change<V> {
  lesionId: number;
  timepointId: string;
  /** null: the lesion had no reading there before. */
  before: V | null;
  after: V;
}

export class UndoStack<V> {
  private readonly done: Change<V>[] = [];
  private readonly undone: Change<V>[] = [];
  private readonly listeners: (() => void)[] = [];

  constructor(private readonly limit = 100) {}

  /** A new change of the reader's: it can be undone, and nothing undone can be redone any more. */
  record(change: Change<V>): void {
    this.done.push(change);
    if (this.done.length > this.limit) this.done.shift();
    this.undone.length = 0;
    this.changed();
  }

  /** The change an undo would take back. */
  nextUndo(): Change<V> | null {
    return this.done[this.done.length - 1] ?? null;
  }

  nextRedo(): Change<V> | null {
    return this.undone[this.undone.length - 1] ?? null;
  }

  /** The undo of `nextUndo()` was written. */
  undid(change: Change<V>): void {
    if (this.nextUndo() !== change) return;
    this.undone.push(this.done.pop()!);
    this.changed();
  }

  /** The redo of `nextRedo()` was written. */
  redid(change: Change<V>): void {
    if (this.nextRedo() !== change) return;
    this.done.push(this.undone.pop()!);
    this.changed();
  }

  /** Drop one change that cannot be undone (nothing to write back). */
  drop(change: Change<V>): void {
    for (const list of [this.done, this.undone]) {
      const i = list.indexOf(change);
      if (i >= 0) list.splice(i, 1);
    }
    this.changed();
  }

  /** Drop every change of a lesion (it was deleted). */
  forget(lesionId: number): void {
    for (const list of [this.done, this.undone]) {
      for (let i = list.length - 1; i >= 0; i--) if (list[i].lesionId === lesionId) list.splice(i, 1);
    }
    this.changed();
  }

  get canUndo(): boolean {
    return this.done.length > 0;
  }

  get canRedo(): boolean {
    return this.undone.length > 0;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  private changed(): void {
    this.listeners.forEach((f) => f());
  }
}
