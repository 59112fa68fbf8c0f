// Bundles the Action (compiled by tsc into build/src/action) into dist/index.js, which action.yml
// runs on node24. The bundle is committed; `npm run check-dist` (a step of .ci/run) fails when it is stale.
import commonjs from '@rollup/plugin-commonjs';
import json from '@rollup/plugin-json';
import { nodeResolve } from '@rollup/plugin-node-resolve';

/** @type {import('rollup').RollupOptions} */
export default {
  input: 'build/src/action/index.js',
  output: { file: 'dist/index.js', format: 'es', sourcemap: false, inlineDynamicImports: true },
  plugins: [nodeResolve({ preferBuiltins: true, exportConditions: ['node'] }), commonjs(), json()],
  onwarn(warning, warn) {
    // Dependencies (@actions/*, @azure/*) use `this` at module top level and circular imports; both are harmless here.
    if (warning.code === 'THIS_IS_UNDEFINED' || warning.code === 'CIRCULAR_DEPENDENCY') return;
    warn(warning);
  },
};
