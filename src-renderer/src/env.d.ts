/// <reference types="vite/client" />

declare module '*.vue' {
  import type { DefineComponent } from 'vue';
  const component: DefineComponent<object, object, unknown>;
  export default component;
}

// Locale files are flat string maps (src/locales/*.json).
declare module '*.json' {
  const messages: Record<string, string>;
  export default messages;
}
