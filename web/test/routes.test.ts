import { describe, expect, it } from 'vitest';
import { caseOf, inPagePath, type LinkClick } from '../src/pages/routes';

const ORIGIN = 'http://nadir.test:8000';
const plain: LinkClick = { button: 0, modified: false, defaultPrevented: false, target: '', download: false, href: `${ORIGIN}/cases/12` };

describe('caseOf', () => {
  it('reads the case of a review address, and nothing else', () => {
    expect(caseOf('/cases/12')).toBe(12);
    expect(caseOf('/cases/12/')).toBe(12);
    expect(caseOf('/cases/')).toBeNull();
    expect(caseOf('/cases/12/report')).toBeNull();
    expect(caseOf('/cases/1e3')).toBeNull();
    expect(caseOf('/')).toBeNull();
    expect(caseOf('/x/cases/12')).toBeNull();
  });
});

describe('inPagePath', () => {
  it('opens a plain click on a case in this page, with its query', () => {
    expect(inPagePath(plain, ORIGIN)).toBe('/cases/12');
    expect(inPagePath({ ...plain, href: `${ORIGIN}/cases/12?left=a&right=b#x` }, ORIGIN)).toBe('/cases/12?left=a&right=b');
    expect(inPagePath({ ...plain, href: '/cases/7', target: '_self' }, ORIGIN)).toBe('/cases/7');
  });

  it('leaves to the browser what the reader asked of it: another button, a modifier, another window, a download', () => {
    expect(inPagePath({ ...plain, button: 1 }, ORIGIN)).toBeNull();
    expect(inPagePath({ ...plain, modified: true }, ORIGIN)).toBeNull();
    expect(inPagePath({ ...plain, target: '_blank' }, ORIGIN)).toBeNull();
    expect(inPagePath({ ...plain, download: true }, ORIGIN)).toBeNull();
    expect(inPagePath({ ...plain, defaultPrevented: true }, ORIGIN)).toBeNull();
  });

  it('never opens another origin or an address that is not a case in this page', () => {
    expect(inPagePath({ ...plain, href: 'http://elsewhere.test:8000/cases/12' }, ORIGIN)).toBeNull();
    expect(inPagePath({ ...plain, href: 'https://nadir.test:8000/cases/12' }, ORIGIN)).toBeNull();
    expect(inPagePath({ ...plain, href: `${ORIGIN}/` }, ORIGIN)).toBeNull();
    expect(inPagePath({ ...plain, href: `${ORIGIN}/api/v1/cases/12` }, ORIGIN)).toBeNull();
    expect(inPagePath({ ...plain, href: 'javascript:alert(1)' }, ORIGIN)).toBeNull();
    expect(inPagePath({ ...plain, href: 'http://[' }, ORIGIN)).toBeNull();
  });
});
