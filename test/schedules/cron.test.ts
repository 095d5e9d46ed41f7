// Cron → value sets, and the server's calendar ranges → value sets: the two must meet for
// applySchedules to recognise an unchanged schedule (the dev-server test checks the round trip).
import { calendarSets, parseCron, sameCalendarSets } from '../../src/schedules/cron';

const sets = (expr: string) => {
  const r = parseCron(expr);
  if (!r.ok) throw new Error(r.reason);
  return r.sets;
};

test('steps, ranges, lists, names and Sunday as 7', () => {
  expect(sets('*/15 9-17/4 1,15 JAN,jul-aug SUN,7')).toEqual({
    second: [0], minute: [0, 15, 30, 45], hour: [9, 13, 17], dayOfMonth: [1, 15], month: [1, 7, 8], dayOfWeek: [0], year: [],
  });
  expect(sets('5/20 0 * * 1-5').minute).toEqual([5, 25, 45]);
  expect(sets('0 0 * * *').dayOfWeek).toEqual([0, 1, 2, 3, 4, 5, 6]);
});

test('mistakes are named by field', () => {
  const reason = (e: string) => (parseCron(e) as { reason: string }).reason;
  expect(reason('60 * * * *')).toBe("cron '60 * * * *', minute field: minute 60 is outside 0-59");
  expect(reason('0 5-1 * * *')).toBe("cron '0 5-1 * * *', hour field: range '5-1' runs backwards");
  expect(reason('0 0 * FOO *')).toBe("cron '0 0 * FOO *', month field: 'FOO' is not a number or a month name");
  expect(reason('@daily')).toMatch(/must have 5 fields/);
  expect(reason('*/0 * * * *')).toMatch(/step in '\*\/0' must be at least 1/);
});

test("the server's ranges expand to the same sets as the cron they came from", () => {
  // As describe() returns '30 1 * * 1-5' (ranges with names, end inclusive).
  const described = calendarSets({
    second: [{ start: 0, end: 0, step: 1 }],
    minute: [{ start: 30, end: 30, step: 1 }],
    hour: [{ start: 1, end: 1, step: 1 }],
    dayOfMonth: [{ start: 1, end: 31, step: 1 }],
    month: [{ start: 'JANUARY', end: 'DECEMBER', step: 1 }],
    year: [],
    dayOfWeek: [{ start: 'MONDAY', end: 'FRIDAY', step: 1 }],
    comment: '',
  });
  expect(sameCalendarSets([described], [sets('30 1 * * 1-5')])).toBe(true);
  expect(sameCalendarSets([described], [sets('30 1 * * MON-FRI')])).toBe(true);
  expect(sameCalendarSets([described], [sets('30 1 * * 1-6')])).toBe(false);
  expect(sameCalendarSets([described], [])).toBe(false);
});
