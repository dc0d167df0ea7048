// Walks the steps in order. A step is recorded done only after it succeeded (or its probe says
// its effect is there), so a power cut at any line replays safely. Steps marked everyBoot (the
// wait for cloud-init, address and clock) run on every start: a resumed boot needs them again.
import type { Journal, JournalStore } from './state.js';
import type { Step, StepContext, StepId } from './types.js';

export interface WalkHooks {
  onStep(id: StepId): void;
}

export async function walkSteps(steps: readonly Step[], ctx: StepContext, store: Pick<JournalStore, 'save'>,
  journal: Journal, hooks: WalkHooks): Promise<void> {
  for (const step of steps) {
    if (journal.done[step.id] && !step.everyBoot) continue;
    hooks.onStep(step.id);
    const started = ctx.clock.now();
    ctx.log.info(`step ${step.id}: start`);
    if (await step.isDone(ctx)) {
      ctx.log.info(`step ${step.id}: already done`);
    } else {
      await step.run(ctx);
      ctx.log.info(`step ${step.id}: done in ${((ctx.clock.now() - started) / 1000).toFixed(1)} s`);
    }
    journal.done[step.id] = new Date(ctx.clock.now()).toISOString();
    await store.save(journal);
  }
}
