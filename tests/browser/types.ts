// Compile-time checks of the package's types (tsc --noEmit, by scripts/test-browser.sh): the generated effect
// ids and parameter names complete and reject typos. Each @ts-expect-error line must fail to type-check, or tsc
// reports the directive as unused.
import { createEngine, loadCoreLogic, type Chain, type EffectId, type CoreLogicError, type WasmSource } from 'corelogic-dsp';

export async function check(context: AudioContext): Promise<void> {
  const good: Chain = [
    { effect: 'compressor', parameters: { thresholdDb: -24, ratio: 3 } },
    { effect: 'parametric-eq', parameters: { b2GainDb: 4 }, enabled: false },
    { effect: 'plate-reverb', preset: 'plate' },
  ];
  // @ts-expect-error: no such effect
  const badEffect: Chain = [{ effect: 'chorus' }];
  // @ts-expect-error: ratio is the compressor's, not the gate's
  const badParameter: Chain = [{ effect: 'gate', parameters: { ratio: 2 } }];
  const id: EffectId = 'wave-shaper';
  const coreLogic = await loadCoreLogic();
  const source: WasmSource = coreLogic.wasmSource;
  // @ts-expect-error: the wasm comes one of three ways: 'streaming', 'fetched' or 'inline'
  const badSource: WasmSource = 'base64';
  const node = await coreLogic.createEffectChain(context, good, { meters: true });
  node.setParameter(0, 'ratio', 4, { time: 1, source: 'automation' });
  // @ts-expect-error: source is 'user' or 'automation'
  node.setParameter(0, 'ratio', 4, { source: 'robot' });
  node.onerror = (e: CoreLogicError) => console.log(e.code, e.path.json);
  const engine = await createEngine(context);
  const other = await engine.createChain([{ effect: id }]);
  const latency: number = other.latency;
  const analysis = await coreLogic.analyze(new AudioBuffer({ length: 1, sampleRate: 48000 }));
  const lufs: number | null = analysis.integratedLufs;
  void [badEffect, badParameter, badSource, source, latency, lufs];
}
