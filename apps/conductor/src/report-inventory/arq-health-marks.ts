import { type CyborgEvent, type HostEvent, Streams } from '@cyborg/contracts';
import { ArqAggregate, arqHealthMarks, decideArqHealthMark, type HostState } from '@cyborg/domain';
import type { ReadStream } from '@cyborg/event-store';

/**
 * The ARQ-stream appends that mark the ARQs bound to devices whose health
 * these host events change: read in the same command, so the marks commit
 * with the health change or not at all.
 */
export async function arqHealthAppends(
  read: ReadStream<CyborgEvent>,
  events: readonly HostEvent[],
  host: HostState,
): Promise<{ streamId: string; events: CyborgEvent[] }[]> {
  const appends: { streamId: string; events: CyborgEvent[] }[] = [];
  for (const mark of arqHealthMarks(events, host)) {
    const streamId = Streams.arq(mark.arqUuid);
    const { state } = await read(ArqAggregate, streamId);
    const marked = decideArqHealthMark(mark, state);
    if (marked.length > 0) appends.push({ streamId, events: marked });
  }
  return appends;
}
