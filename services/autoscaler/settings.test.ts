import { describe, expect, it } from 'vitest';
import { InvalidResourceError } from '../core/errors.ts';
import { parseGoDurationMs } from './go-duration.ts';
import { resolveDefaults, scalingSettings } from './settings.ts';
import { AUTOSCALER_DEFAULTS } from './types.ts';

const K = 'autoscaling.knative.dev/';
const spec = { handler: 'fn.ts' };

describe('scalingSettings', () => {
  it('applies the platform defaults (Knative KPA)', () => {
    expect(scalingSettings({ spec })).toEqual({
      metric: 'concurrency',
      target: 100,
      targetUtilization: 0.7,
      minScale: 0,
      maxScale: 0,
      initialScale: 1,
      activationScale: 1,
      stableWindowMs: 60_000,
      panicWindowPercentage: 10,
      panicThreshold: 2,
      scaleDownDelayMs: 0,
      scaleToZeroGraceMs: 30_000,
      maxScaleUpRate: 1000,
      maxScaleDownRate: 2,
    });
  });

  it('targets containerConcurrency, 200 rps for the rps metric, and never above containerConcurrency', () => {
    expect(scalingSettings({ spec: { ...spec, containerConcurrency: 10 } }).target).toBe(10);
    expect(scalingSettings({ spec: { ...spec, scaling: { metric: 'rps' } } }).target).toBe(200);
    const capped = { spec: { ...spec, containerConcurrency: 10, scaling: { target: 50 } } };
    expect(scalingSettings(capped).target).toBe(10);
  });

  it('reads spec.scaling, queue and ISO durations included', () => {
    const s = scalingSettings({
      spec: {
        ...spec,
        scaling: {
          minScale: 1,
          maxScale: 5,
          target: 4,
          targetUtilization: 0.5,
          stableWindow: 'PT2M',
          scaleDownDelay: 'PT15S',
          scaleToZeroGracePeriod: 'PT5S',
          queue: { lagPerReplica: 50 },
        },
      },
    });
    expect(s).toMatchObject({ minScale: 1, maxScale: 5, target: 4, targetUtilization: 0.5, stableWindowMs: 120_000 });
    expect(s).toMatchObject({ scaleDownDelayMs: 15_000, scaleToZeroGraceMs: 5_000 });
    expect(s.queue).toEqual({ lagPerReplica: 50, activationLag: 0 });
  });

  it('reads the Knative annotations, which win over spec.scaling', () => {
    const s = scalingSettings({
      spec: { ...spec, scaling: { minScale: 1, maxScale: 5, metric: 'concurrency', stableWindow: 'PT2M' } },
      metadata: {
        annotations: {
          [`${K}min-scale`]: '2',
          [`${K}max-scale`]: '9',
          [`${K}metric`]: 'rps',
          [`${K}target`]: '50',
          [`${K}target-utilization-percentage`]: '80',
          [`${K}window`]: '1m30s',
          [`${K}panic-window-percentage`]: '20',
          [`${K}panic-threshold-percentage`]: '150',
          [`${K}initial-scale`]: '0',
          [`${K}scale-down-delay`]: '45s',
          [`${K}activation-scale`]: '3',
          [`${K}class`]: 'kpa.autoscaling.knative.dev',
          'example.com/other': 'x',
        },
      },
    });
    expect(s).toMatchObject({ minScale: 2, maxScale: 9, metric: 'rps', target: 50, targetUtilization: 0.8 });
    expect(s).toMatchObject({ stableWindowMs: 90_000, panicWindowPercentage: 20, panicThreshold: 1.5 });
    expect(s).toMatchObject({ initialScale: 0, scaleDownDelayMs: 45_000, activationScale: 3 });
  });

  it("accepts Knative's camel-case spellings; the kebab-case one wins", () => {
    const s = scalingSettings({
      spec,
      annotations: { [`${K}minScale`]: '3', [`${K}maxScale`]: '7', [`${K}max-scale`]: '8' },
    });
    expect(s).toMatchObject({ minScale: 3, maxScale: 8 });
  });

  it('names every bad annotation', () => {
    const bad = {
      [`${K}min-scale`]: '-1',
      [`${K}window`]: '3s',
      [`${K}metric`]: 'cpu',
      [`${K}target-utilization-percentage`]: '0.5',
      [`${K}scale-down-delay`]: 'soon',
    };
    const err = catchError(() => scalingSettings({ spec, annotations: bad }));
    expect(err).toBeInstanceOf(InvalidResourceError);
    const paths = (err as InvalidResourceError).issues.map((i) => i.path);
    expect(paths).toEqual(Object.keys(bad).map((k) => `metadata.annotations["${k}"]`));
    expect((err as Error).message).toContain(`${K}window"]: "3s" must be between 6s and 1h`);
    expect((err as Error).message).toContain(`${K}metric"]: "cpu" must be concurrency or rps`);
  });

  it('refuses min-scale above max-scale, naming where each came from', () => {
    const err = catchError(() =>
      scalingSettings({ spec: { ...spec, scaling: { maxScale: 2 } }, annotations: { [`${K}min-scale`]: '3' } }),
    );
    expect((err as Error).message).toContain(`${K}min-scale (3) must be <= spec.scaling.maxScale (2)`);
  });

  it('uses overridden platform defaults (short windows for tests)', () => {
    const s = scalingSettings({ spec }, { stableWindowMs: 3000, scaleToZeroGraceMs: 500, initialScale: 0 });
    expect(s).toMatchObject({ stableWindowMs: 3000, scaleToZeroGraceMs: 500, initialScale: 0 });
  });
});

describe('resolveDefaults', () => {
  it('fills in and checks the platform defaults', () => {
    expect(resolveDefaults({ tickMs: 100, stableWindowMs: undefined })).toEqual({
      ...AUTOSCALER_DEFAULTS,
      tickMs: 100,
    });
    expect(() => resolveDefaults({ maxScaleDownRate: 0 })).toThrow(/maxScaleDownRate must be > 0/);
    expect(() => resolveDefaults({ targetUtilization: 1.5 })).toThrow(/targetUtilization/);
  });
});

describe('parseGoDurationMs', () => {
  it('reads Go durations as Knative annotations write them', () => {
    expect(parseGoDurationMs('60s')).toBe(60_000);
    expect(parseGoDurationMs('1m30s')).toBe(90_000);
    expect(parseGoDurationMs('1.5h')).toBe(5_400_000);
    expect(parseGoDurationMs('250ms')).toBe(250);
    expect(parseGoDurationMs('0')).toBe(0);
    for (const bad of ['', '60', '-1s', '1x', 's', '1m 2s']) expect(parseGoDurationMs(bad)).toBeUndefined();
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}
