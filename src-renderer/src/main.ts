import ElementPlus from 'element-plus';
import 'element-plus/dist/index.css';
import 'element-plus/theme-chalk/dark/css-vars.css';
import { createPinia } from 'pinia';
import { createApp } from 'vue';
import './styles.css';
import App from './App.vue';
import { installTransport } from './api';
import { i18n } from './i18n';
import { router } from './router';
import { useSettingsStore } from './stores/settings';
import { createIpcTransport } from './transport/ipc-transport';
import { createWsTransport, takeTokenFromLocation } from './transport/ws-transport';

// Chosen once. Under Electron the preload defined window.mqdesk; in a browser, talk to the
// headless server that served this page.
installTransport(
  window.mqdesk ? createIpcTransport(window.mqdesk) : createWsTransport({ token: takeTokenFromLocation() }),
);

const app = createApp(App);
const pinia = createPinia();
app.use(pinia).use(i18n).use(router).use(ElementPlus);
app.config.errorHandler = (error, _instance, info) => {
  console.error(`[mqdesk] ${info}:`, error);
};
useSettingsStore(pinia); // applies the saved theme and language before the first paint
app.mount('#app');
