import { describe, expect, it } from 'vitest';
import { UndoStack, type Change } from '../src/review/undo';

const change = (lesionId: number, before: number | null, after: number): Change<number> => ({ lesionId, timepointId: 'BL', before, after });

describe('UndoStack', () => {
  it('undoes the last change first and redoes in the order undone', () => {
    const stack = new UndoStack<number>();
    const a = change(1, null, 10);
    const b = change(1, 10, 12);
    stack.record(a);
    stack.record(b);
    expect(stack.nextUndo()).toBe(b);
    stack.undid(b);
    expect(stack.nextUndo()).toBe(a);
    expect(stack.nextRedo()).toBe(b);
    stack.undid(a);
    expect(stack.canUndo).toBe(false);
    expect(stack.nextRedo()).toBe(a);
    stack.redid(a);
    expect(stack.nextRedo()).toBe(b);
    expect(stack.nextUndo()).toBe(a);
  });

  it('forgets what was undone once a new change is made', () => {
    const stack = new UndoStack<number>();
    const a = change(1, null, 10);
    stack.record(a);
    stack.undid(a);
    expect(stack.canRedo).toBe(true);
    stack.record(change(2, null, 5));
    expect(stack.canRedo).toBe(false);
  });

  it('ignores an undo or redo reported for a change that is not next (a late answer)', () => {
    const stack = new UndoStack<number>();
    const a = change(1, null, 10);
    const b = change(1, 10, 12);
    stack.record(a);
    stack.record(b);
    stack.undid(a);
    expect(stack.nextUndo()).toBe(b);
    stack.redid(b);
    expect(stack.canRedo).toBe(false);
  });

  it('drops one change, or every change of a deleted lesion', () => {
    const stack = new UndoStack<number>();
    const a = change(1, null, 10);
    const b = change(2, null, 7);
    const c = change(1, 10, 11);
    [a, b, c].forEach((x) => stack.record(x));
    stack.drop(c);
    expect(stack.nextUndo()).toBe(b);
    stack.forget(2);
    expect(stack.nextUndo()).toBe(a);
  });

  it('keeps at most its limit, dropping the oldest', () => {
    const stack = new UndoStack<number>(2);
    const changes = [1, 2, 3].map((n) => change(n, null, n));
    changes.forEach((x) => stack.record(x));
    stack.undid(changes[2]);
    stack.undid(changes[1]);
    expect(stack.canUndo).toBe(false);
  });

  it('tells listeners of every change', () => {
    const stack = new UndoStack<number>();
    let calls = 0;
    stack.onChange(() => calls++);
    const a = change(1, null, 1);
    stack.record(a);
    stack.undid(a);
    stack.redid(a);
    expect(calls).toBe(3);
  });
});
