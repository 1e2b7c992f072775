// One config, three builds. Every entry is named because MQDesk does not use electron-vite's
// default src/{main,preload,renderer} folders.
import { resolve } from 'node:path';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'electron-vite';

const root = import.meta.dirname;
// The build test (test/build/build.test.ts) builds into a temporary folder, leaving out/ alone.
const outDir = process.env['MQDESK_BUILD_OUT'] ? resolve(process.env['MQDESK_BUILD_OUT']) : resolve(root, 'out');

export default defineConfig({
  main: {
    build: {
      outDir: resolve(outDir, 'main'),
      rolldownOptions: {
        // ESM (package.json "type": "module"); out/main/index.js is package.json "main".
        input: { index: resolve(root, 'src-main/app/index.ts') },
      },
    },
  },
  preload: {
    build: {
      outDir: resolve(outDir, 'preload'),
      // A sandboxed preload has no ESM loader and can only require('electron'): bundle everything
      // into one CommonJS file with a .cjs name (the package is "type": "module").
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: resolve(root, 'src-main/app/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs', codeSplitting: false },
      },
    },
  },
  renderer: {
    root: resolve(root, 'src-renderer'),
    plugins: [vue()],
    define: {
      // vue-i18n esm-bundler flags: Composition API only, no devtools in production.
      __VUE_I18N_FULL_INSTALL__: 'true',
      __VUE_I18N_LEGACY_API__: 'false',
      __INTLIFY_PROD_DEVTOOLS__: 'false',
    },
    build: {
      outDir: resolve(outDir, 'renderer'),
      rolldownOptions: {
        input: { index: resolve(root, 'src-renderer/index.html') },
      },
    },
  },
});
