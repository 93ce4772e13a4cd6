import { describe, expect, it } from '@jest/globals';
import { dailySeries, lastDays } from '../../server/console/chart.ts';
import { csvCell, csvRow } from '../../server/console/csv.ts';

/** The audit export opens safely in a spreadsheet; the overview's chart counts each day once. */
describe('the audit log as CSV', () => {
  it('quotes every cell, doubles quotes, and ends rows with CRLF', () => {
    expect(csvRow(['a', 'say "hi"', null, 3, { ip: '::1' }])).toBe('"a","say ""hi""","","3","{""ip"":""::1""}"\r\n');
  });

  it('turns cells a spreadsheet would run as a formula into text', () => {
    for (const formula of ['=HYPERLINK("http://x")', '+1+1', '-2+3', '@SUM(A1)', '\t=1', '\r=1']) {
      expect(csvCell(formula)).toBe(`"'${formula.replaceAll('"', '""')}"`);
    }
    expect(csvCell('login.failed')).toBe('"login.failed"');
    expect(csvCell('user:1-2')).toBe('"user:1-2"');
  });
});

describe('the overview chart', () => {
  it('has one bar per UTC day, oldest first, scaled to the busiest day', () => {
    const days = lastDays(3, new Date('2026-03-01T05:00:00Z'));
    expect(days).toEqual(['2026-02-27', '2026-02-28', '2026-03-01']);
    const [signIns, failures] = dailySeries(
      [
        { day: '2026-02-27', kind: 'login.succeeded', n: 2 },
        { day: '2026-03-01', kind: 'login.succeeded', n: 4 },
        // Rows for the same day and kind (from two sources) add up.
        { day: '2026-03-01', kind: 'login.succeeded', n: 4 },
        { day: '2026-01-01', kind: 'login.succeeded', n: 99 },
      ],
      [
        { kind: 'login.succeeded', label: 'Sign-ins' },
        { kind: 'login.failed', label: 'Failed sign-ins' },
      ],
      days,
    );
    expect(signIns?.total).toBe(10);
    expect(signIns?.bars.map((b) => [b.n, b.height])).toEqual([
      [2, 15],
      [0, 0],
      [8, 60],
    ]);
    expect(failures?.bars.every((b) => b.height === 0)).toBe(true);
  });
});
