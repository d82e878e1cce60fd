import * as tf from '@tensorflow/tfjs';
import { LearningRateScheduleSchema } from '@trainyard/contracts';
import { FRESH_PLATEAU, observePlateau, scheduledLearningRate } from './learning-rate-schedule';
import { createOptimizer, setLearningRate } from './optimizer';
import type { TrainingPlan } from './training-plan';

const plan: TrainingPlan = { stepsPerEpoch: 10, epochs: 10, totalSteps: 100 };
const schedule = (s: object) => LearningRateScheduleSchema.parse(s);
const rate = (s: object, step: number, plateauScale?: number) =>
  scheduledLearningRate(schedule(s), 0.1, { step, epochIndex: Math.floor(step / 10) }, plan, plateauScale);

describe('scheduledLearningRate', () => {
  it('keeps the learning rate without a schedule, and with a constant one past warm-up', () => {
    expect(scheduledLearningRate(undefined, 0.1, { step: 50, epochIndex: 5 }, plan)).toBe(0.1);
    expect(rate({ type: 'constant' }, 0)).toBe(0.1);
  });

  it('warms up linearly over warmupSteps, whatever the schedule', () => {
    expect([0, 1, 3, 4, 50].map((s) => rate({ type: 'constant', warmupSteps: 4 }, s))).toEqual([
      0.025, 0.05, 0.1, 0.1, 0.1,
    ]);
    expect(rate({ type: 'step', everyEpochs: 100, warmupSteps: 4 }, 1)).toBeCloseTo(0.05);
  });

  it('steps down by factor every everyEpochs epochs, or every everySteps steps', () => {
    expect([0, 19, 20, 45].map((s) => rate({ type: 'step', everyEpochs: 2, factor: 0.5 }, s))).toEqual([
      0.1, 0.1, 0.05, 0.025,
    ]);
    expect(
      [0, 6, 7, 14]
        .map((s) => rate({ type: 'step', everySteps: 7, factor: 0.1 }, s))
        .map((r) => Number(r.toPrecision(6))),
    ).toEqual([0.1, 0.1, 0.01, 0.001]);
  });

  it('follows half a cosine from the rate to minLearningRate over the steps after warm-up', () => {
    const cosine = { type: 'cosine', minLearningRate: 0.01 };
    expect(rate(cosine, 0)).toBeCloseTo(0.1);
    expect(rate(cosine, 50)).toBeCloseTo(0.055);
    expect(rate(cosine, 100)).toBeCloseTo(0.01);
    const warm = { type: 'cosine', warmupSteps: 20 };
    expect(rate(warm, 9)).toBeCloseTo(0.05);
    expect(rate(warm, 20)).toBeCloseTo(0.1);
    expect(rate(warm, 60)).toBeCloseTo(0.05);
    // A minimum above a (second-stage) rate never raises it.
    expect(
      scheduledLearningRate(schedule({ type: 'cosine', minLearningRate: 0.5 }), 0.1, { step: 99, epochIndex: 9 }, plan),
    ).toBeCloseTo(0.1);
  });

  it('applies reduceOnPlateau’s accumulated factor, never below minLearningRate', () => {
    expect(rate({ type: 'reduceOnPlateau' }, 30, 0.01)).toBeCloseTo(0.001);
    expect(rate({ type: 'reduceOnPlateau', minLearningRate: 0.005 }, 30, 0.01)).toBe(0.005);
  });
});

describe('observePlateau', () => {
  const rule = (s: object) =>
    schedule({ type: 'reduceOnPlateau', ...s }) as Extract<ReturnType<typeof schedule>, { type: 'reduceOnPlateau' }>;
  const scales = (s: object, values: number[]) => {
    let state = FRESH_PLATEAU;
    return values.map((v) => (state = observePlateau(rule(s), state, v)).scale);
  };

  it('multiplies by factor after `patience` rounds without improvement, then counts afresh', () => {
    expect(scales({ patience: 2, factor: 0.5 }, [1, 1.1, 1.2, 1.3, 1.4, 0.5, 0.6])).toEqual([
      1, 1, 0.5, 0.5, 0.25, 0.25, 0.25,
    ]);
  });

  it('rests after a reduction, in Keras’s order: cooldown 2 skips the next round, the one after counts again', () => {
    expect(scales({ patience: 1, factor: 0.5, cooldown: 2 }, [1, 2, 2, 2, 2, 2])).toEqual([
      1, 0.5, 0.5, 0.25, 0.25, 0.125,
    ]);
    expect(scales({ patience: 1, factor: 0.5 }, [1, 2, 2, 2])).toEqual([1, 0.5, 0.25, 0.125]);
  });

  it('needs an improvement larger than minDelta, on the metric’s goal', () => {
    expect(scales({ patience: 1, minDelta: 0.1 }, [1, 0.95])).toEqual([1, 0.1]);
    expect(scales({ metric: 'val_accuracy', patience: 1 }, [0.5, 0.6, 0.6])).toEqual([1, 1, 0.1]);
  });
});

describe('setLearningRate', () => {
  it.each(['adam', 'sgd', 'rmsprop'] as const)('changes the step %s takes', async (optimizer) => {
    await tf.setBackend('cpu');
    const step = (lr: number) => {
      const opt = createOptimizer({ optimizer, learningRate: 1 });
      setLearningRate(opt, lr);
      const w = tf.variable(tf.scalar(1));
      opt.minimize(() => w.square() as tf.Scalar);
      const moved = 1 - w.dataSync()[0];
      tf.dispose([w]);
      opt.dispose();
      return moved;
    };
    expect(step(0.001) / step(0.01)).toBeCloseTo(0.1, 3);
  });
});
