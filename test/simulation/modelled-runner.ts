// A simulated Pi's command line: the TEST DOUBLES (test/doubles/fake-host.ts) taking their
// modelled time, in model time, with the runner's timeout honoured in model time too.
import { parse } from 'yaml';
import type { CommandRunner, Ran } from '../../builder/command-runner.js';
import type { FakeHost } from '../doubles/fake-host.js';
import type { ModelClock } from './model-clock.js';

/** Seconds of model time each action of the doubles takes. */
export interface Model {
  readonly snapInstallS: number;
  readonly formationS: number;
  /** An add session: a base, and more per new machine (each joins LXD, Ceph and OVN); the MicroCloud double takes it (addMs). */
  readonly addBaseS: number;
  readonly addPerSystemS: number;
  /** Model seconds per wall-clock second. */
  readonly speedup: number;
}

export const DEFAULT_MODEL: Model = { snapInstallS: 60, formationS: 180, addBaseS: 120, addPerSystemS: 20, speedup: 20 };

/** The power of one simulated Pi: once off, every command it would run fails as the machine is gone. */
export interface Power {
  on: boolean;
  /** Dies as it runs its first `microcloud preseed`, before it reaches out to anyone. */
  readonly diesAtPreseed?: boolean;
}

const isPowerCut = (error: unknown) => error instanceof Error && error.message.startsWith('power cut');

/** A formation is a preseed whose initiator is among its systems, or that names none (unicast): MicroCloud's own rule (preseed.go). */
function isFormation(input: string | undefined): boolean {
  const doc = (input ? parse(input) : {}) as { initiator?: string; systems?: { name: string }[] };
  return !doc.initiator || (doc.systems ?? []).some((s) => s.name === doc.initiator);
}


/**
 * The doubles take their modelled time: a snap install before it returns, a formation after the
 * machines have met (the double pairs them at once). An add session's time is the MicroCloud
 * double's own (its addMs, members listed only once it is done), so it is not slept here. A
 * command given `timeoutMs` is stopped after that many model milliseconds, as execa stops a
 * program (its signal aborts the double's wait) and reported `timedOut`. `shutdown` ends every
 * command when the run is over (a desk still running sessions nobody comes to, say), and refuses new ones.
 */
export function modelledRunner(host: FakeHost, model: Model, clock: ModelClock, power: Power, shutdown: AbortSignal): CommandRunner {
  return async (file, args, options = {}) => {
    const preseed = file === 'microcloud' && args[0] === 'preseed';
    if (power.on && power.diesAtPreseed && preseed) power.on = false;
    if (!power.on || shutdown.aborted) throw new Error(`power cut: ${host.node} is off`);
    const stop = new AbortController();
    const signal = AbortSignal.any([...(options.signal ? [options.signal] : []), stop.signal, shutdown]);
    const work = (async (): Promise<Ran> => {
      if (file === 'snap' && args[0] === 'install') await clock.sleepUnless(model.snapInstallS * 1000, signal);
      if (signal.aborted) return { exitCode: undefined, stdout: '', stderr: '', cancelled: true };
      const ran = await host.run(file, args, { ...options, signal });
      if (preseed && ran.exitCode === 0 && isFormation(options.input)) await clock.sleepUnless(model.formationS * 1000, signal);
      return ran;
    })().catch((error: unknown) => {
      if (isPowerCut(error)) power.on = false; // the double cut it (a joiner that dies right after it reached out)
      throw error;
    });
    const timeUp = new AbortController();
    try {
      const timedOut: Ran = { exitCode: undefined, stdout: '', stderr: '', timedOut: true };
      const timeout = options.timeoutMs === undefined ? [] : [clock.sleepUnless(options.timeoutMs, timeUp.signal).then(() => timedOut)];
      const first = await Promise.race([work, ...timeout]);
      if (first !== timedOut) return first;
      stop.abort(); // the program is stopped: the double's wait ends with it
      void work.catch(() => undefined);
      return timedOut;
    } finally {
      timeUp.abort();
    }
  };
}
