// The ```sh blocks of one marked region of a markdown page (<!-- NAME:start --> … <!-- NAME:end -->),
// each with its replay mark (<!-- replay: MARK --> on the line before the block, or null): what the
// doc-replay tests run verbatim and what they provide or start otherwise.
export interface MarkedShBlock {
  code: string;
  mark: string | null;
}

export function markedShBlocks(md: string, region: string): MarkedShBlock[] {
  const start = md.indexOf(`<!-- ${region}:start -->`);
  const end = md.indexOf(`<!-- ${region}:end -->`);
  if (start < 0 || end < start) throw new Error(`the markdown lacks the <!-- ${region}:start/end --> markers`);
  const blocks: MarkedShBlock[] = [];
  for (const m of md.slice(start, end).matchAll(/(?:<!-- replay: ([^\n]*?) -->\n)?```sh\n([\s\S]*?)```/g)) blocks.push({ code: m[2], mark: m[1] ?? null });
  return blocks;
}
