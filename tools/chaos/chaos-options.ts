import { mulberry32 } from '@trainyard/contracts';

/** What `npm run chaos` soaks: how many runs, workers, for how long, with which random faults. */
export interface ChaosOptions {
  /** Runs submitted (half tiny pretrains, half fine-tunes of them). */
  runs: number;
  /** Worker processes kept alive (restarted after every kill). */
  workers: number;
  /** How long faults are injected, in seconds (at most; the soak ends once every run is terminal). */
  durationS: number;
  /** After the fault window, how long runs get to finish, in seconds: a run not terminal by then is lost. */
  settleS: number;
  /** Seeds the fault schedule (which worker, which signal, when), so a failing soak replays. */
  seed: number;
  /** Restart Redis once and freeze it once mid-soak (the shared one: skip both where other suites use it). */
  redisRestart: boolean;
  /** Mean pause between two faults, in ms. */
  faultEveryMs: number;
}

export const DEFAULTS: ChaosOptions = {
  runs: 12,
  workers: 2,
  durationS: 600,
  settleS: 120,
  seed: 1,
  redisRestart: true,
  faultEveryMs: 4000,
};

const USAGE = `npm run chaos -- [--runs N] [--workers K] [--duration SECONDS] [--settle SECONDS] [--seed S] [--fault-every MS] [--no-redis-restart]`;

export function parseChaosArgs(argv: string[]): ChaosOptions {
  const options = { ...DEFAULTS };
  const numbers: Record<string, keyof ChaosOptions> = {
    '--runs': 'runs',
    '--workers': 'workers',
    '--duration': 'durationS',
    '--settle': 'settleS',
    '--seed': 'seed',
    '--fault-every': 'faultEveryMs',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--no-redis-restart') options.redisRestart = false;
    else if (arg === '--help') throw new Error(USAGE);
    else if (arg in numbers) {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < (arg === '--seed' ? 0 : 1))
        throw new Error(`${arg} needs a positive integer\n${USAGE}`);
      (options as Record<string, unknown>)[numbers[arg]!] = value;
    } else throw new Error(`unknown argument ${arg}\n${USAGE}`);
  }
  return options;
}

/** The same seed gives the same fault schedule. */
export const seededRandom = mulberry32;
