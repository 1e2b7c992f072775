// UI preferences, persisted under a versioned key. Each field is checked on load, so an old or
// hand-edited value falls back to its default instead of breaking the page.
import { defineStore } from 'pinia';
import { ref, watch } from 'vue';
import { i18n, isAppLocale, type AppLocale } from '../i18n';

export const SETTINGS_STORAGE_KEY = 'mqdesk-settings-v1';

export type Theme = 'light' | 'dark';

interface StoredSettings {
  theme: Theme;
  locale: AppLocale;
}

function defaults(): StoredSettings {
  const prefersDark = window.matchMedia?.('(prefers-color-scheme: dark)').matches ?? false;
  const language = navigator.language?.toLowerCase() ?? 'en';
  return { theme: prefersDark ? 'dark' : 'light', locale: language.startsWith('zh') ? 'zh-CN' : 'en' };
}

function load(): StoredSettings {
  const fallback = defaults();
  try {
    const raw: unknown = JSON.parse(window.localStorage.getItem(SETTINGS_STORAGE_KEY) ?? 'null');
    if (typeof raw !== 'object' || raw === null) return fallback;
    const { theme, locale } = raw as Record<string, unknown>;
    return {
      theme: theme === 'light' || theme === 'dark' ? theme : fallback.theme,
      locale: isAppLocale(locale) ? locale : fallback.locale,
    };
  } catch {
    return fallback; // unreadable JSON, or storage disabled
  }
}

export const useSettingsStore = defineStore('settings', () => {
  const initial = load();
  const theme = ref<Theme>(initial.theme);
  const locale = ref<AppLocale>(initial.locale);

  function apply(): void {
    document.documentElement.classList.toggle('dark', theme.value === 'dark');
    document.documentElement.lang = locale.value;
    i18n.global.locale.value = locale.value;
  }

  function save(): void {
    try {
      const stored: StoredSettings = { theme: theme.value, locale: locale.value };
      window.localStorage.setItem(SETTINGS_STORAGE_KEY, JSON.stringify(stored));
    } catch {
      // Storage full or disabled: the choice still holds for this session.
    }
  }

  watch([theme, locale], () => {
    apply();
    save();
  });
  apply();

  return { theme, locale };
});
