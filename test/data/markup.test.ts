// POD and reST → plain text, on snippets in the style of Perl's and Python's own documentation.
import { pickAnswerSpan, sentenceEnds } from '../../src/data/answer-span';
import { sectionText } from '../../src/data/doc-section';
import { parsePod, renderPodInline } from '../../src/data/pod-to-text';
import { parseRst, renderRstInline } from '../../src/data/rst-to-text';

describe('POD', () => {
  test('formatting codes render as pod2text reads them', () => {
    expect(renderPodInline('Use C<printf> or B<I<sprintf>>.')).toBe('Use printf or sprintf.');
    expect(renderPodInline('C<< $a <=> $b >> and C<$x E<gt> 1>')).toBe('$a <=> $b and $x > 1');
    expect(renderPodInline('See L<perlop/"Floating-point Arithmetic">, L<POSIX>, L<the docs|perlfunc/sprintf>.'))
      .toBe('See "Floating-point Arithmetic" in perlop, POSIX, the docs.');
    expect(renderPodInline('L<http://example.org/x> X<index>F<file>S<a b>Z<>')).toBe('http://example.org/x filea b');
  });

  test('sections split at headings; verbatim kept, prose reflowed, =begin blocks dropped', () => {
    const pod = [
      '=head1 NAME', '', 'perlfaqX - Test', '', '=head1 Data', '',
      '=head2 How do I round?', '', 'Use C<sprintf>', 'for that.', '', '    printf "%.2f", 3.14159;', '    # done', '',
      '=begin html', '', '<p>web only</p>', '', '=end html', '',
      '=over 4', '', '=item *', '', 'first point', '', '=back', '',
    ].join('\n');
    const sections = parsePod(pod);
    const q = sections.find((s) => s.heading === 'How do I round?')!;
    expect(q.level).toBe(1);
    expect(q.ancestors).toEqual(['Data']);
    expect(sectionText(q.paragraphs)).toBe('Use sprintf for that.\n\nprintf "%.2f", 3.14159;\n# done\n\n- first point');
    expect(q.paragraphs.map((p) => p.kind)).toEqual(['prose', 'verbatim', 'prose']);
  });

  test('item splitting gives one section per function, merging alternative spellings', () => {
    const pod = ['=head2 Functions', '', '=over', '', '=item chomp VARIABLE', '', '=item chomp', '',
      'Removes a newline.', '', '=item chop', '', 'Removes a character.', '', '=back'].join('\n');
    const sections = parsePod(pod, { splitOnItems: true });
    expect(sections.map((s) => s.heading)).toEqual(['Functions', 'chomp VARIABLE / chomp', 'chop']);
    expect(sections[1].ancestors).toEqual(['Functions']);
    expect(sectionText(sections[2].paragraphs)).toBe('Removes a character.');
  });
});

describe('reST', () => {
  test('roles, literals, links and emphasis render as Sphinx shows them', () => {
    expect(renderRstInline('the built-in function :func:`breakpoint` and :meth:`~list.sort`'))
      .toBe('the built-in function breakpoint() and sort()');
    expect(renderRstInline(':mod:`documented in the Library <pdb>` per :pep:`8`')).toBe('documented in the Library per PEP 8');
    expect(renderRstInline('`Pylint <https://pylint.org>`_ does *basic* **checking** of ``x = 1``'))
      .toBe('Pylint does basic checking of x = 1');
    expect(renderRstInline('call f(*args, **kwargs) with :exc:`ValueError`')).toBe('call f(*args, **kwargs) with ValueError');
  });

  test('headings become sections by adornment order; directives keep their text, labels go', () => {
    const rst = [
      '=====', 'Title', '=====', '', 'Part', '====', '', '.. _label:', '',
      'Why is it so?', '-------------', '', 'Because of :class:`int`.  See::', '', '   x = 1', '   y = 2', '',
      '.. note::', '', '   Mind the gap.', '', '.. versionadded:: 3.2', '',
      '.. index:: single: hidden', '', '>>> 1 + 1', '2', '',
      '* one', '* two', '',
      '.. function:: f(a, b)', '', '   Adds *a* and *b*.', '',
    ].join('\n');
    const sections = parseRst(rst);
    expect(sections.map((s) => [s.level, s.heading])).toEqual([[0, 'Title'], [1, 'Part'], [2, 'Why is it so?']]);
    expect(sections[2].ancestors).toEqual(['Title', 'Part']);
    expect(sectionText(sections[2].paragraphs)).toBe([
      'Because of int. See:', 'x = 1\ny = 2', 'Note: Mind the gap.', 'New in version 3.2.', '>>> 1 + 1\n2',
      '- one', '- two', 'f(a, b)', 'Adds a and b.',
    ].join('\n\n'));
  });
});

describe('answer span', () => {
  test('sentence ends skip abbreviations and decimals', () => {
    const text = 'Use e.g. sprintf for 3.14 values. Then print it! Done';
    expect(sentenceEnds(text).map((e) => text.slice(0, e))).toEqual([
      'Use e.g. sprintf for 3.14 values.', 'Use e.g. sprintf for 3.14 values. Then print it!', text,
    ]);
  });

  test('skips attributions, "Yes." and code; takes one or two sentences', () => {
    const paragraphs = [
      { kind: 'prose' as const, text: '(contributed by brian d foy)' },
      { kind: 'prose' as const, text: '(portions of this answer contributed by Anno Siegel)' },
      { kind: 'prose' as const, text: 'Yes.' },
      { kind: 'verbatim' as const, text: 'print "hi";' },
      { kind: 'prose' as const, text: 'Short one. The second sentence explains the rest in detail. A third.' },
    ];
    const span = pickAnswerSpan(paragraphs)!;
    expect(span.text).toBe('Short one. The second sentence explains the rest in detail.');
    expect(sectionText(paragraphs).slice(span.start, span.end)).toBe(span.text);
    expect(pickAnswerSpan([{ kind: 'verbatim', text: 'code only' }])).toBeNull();
  });
});
