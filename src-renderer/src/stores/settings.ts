// UI preferences, persisted under a versioned key. Each field is checked on load, so an old or
// hand-edited value falls back to its default instead of breaking the page. The theme follows the
// OS (prefers-color-scheme, live) until the user picks light or dark; "system" goes back to following.
import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import { i18n, isAppLocale, type AppLocale } from '../i18n';

export const SETTINGS_STORAGE_KEY = 'mqdesk-settings-v1';

export type Theme = 'light' | 'dark';
/** What the user chose: a theme, or to follow the OS. */
export type ThemePreference = Theme | 'system';

interface StoredSettings {
  /** Absent in what older versions stored: then "system". */
  theme: ThemePreference;
  locale: AppLocale;
}

const DARK_QUERY = '(prefers-color-scheme: dark)';

function osTheme(): Theme {
  return window.matchMedia?.(DARK_QUERY).matches ? 'dark' : 'light';
}

function defaults(): StoredSettings {
  const language = navigator.language?.toLowerCase() ?? 'en';
  return { theme: 'system', locale: language.startsWith('zh') ? 'zh-CN' : 'en' };
}

function load(): StoredSettings {
  const fallback = defaults();
  try {
    const raw: unknown = JSON.parse(window.localStorage.getItem(SETTINGS_STORAGE_KEY) ?? 'null');
    if (typeof raw !== 'object' || raw === null) return fallback;
    const { theme, locale } = raw as Record<string, unknown>;
    return {
      theme: theme === 'light' || theme === 'dark' || theme === 'system' ? theme : fallback.theme,
      locale: isAppLocale(locale) ? locale : fallback.locale,
    };
  } catch {
    return fallback; // unreadable JSON, or storage disabled
  }
}

export const useSettingsStore = defineStore('settings', () => {
  const initial = load();
  const themePreference = ref<ThemePreference>(initial.theme);
  const systemTheme = ref<Theme>(osTheme());
  const locale = ref<AppLocale>(initial.locale);

  /** The theme in force. Writing it is the user picking one (it stops following the OS). */
  const theme = computed<Theme>({
    get: () => (themePreference.value === 'system' ? systemTheme.value : themePreference.value),
    set: (value) => {
      themePreference.value = value;
    },
  });
  const followsSystem = computed(() => themePreference.value === 'system');

  // The OS switching light/dark while the page is open.
  const media = window.matchMedia?.(DARK_QUERY);
  media?.addEventListener?.('change', (event) => {
    systemTheme.value = event.matches ? 'dark' : 'light';
  });

  function apply(): void {
    document.documentElement.classList.toggle('dark', theme.value === 'dark');
    document.documentElement.lang = locale.value;
    i18n.global.locale.value = locale.value;
  }

  function save(): void {
    try {
      const stored: StoredSettings = { theme: themePreference.value, locale: locale.value };
      window.localStorage.setItem(SETTINGS_STORAGE_KEY, JSON.stringify(stored));
    } catch {
      // Storage full or disabled: the choice still holds for this session.
    }
  }

  watch([themePreference, locale], save);
  watch([theme, locale], apply);
  apply();

  function followSystem(): void {
    themePreference.value = 'system';
  }

  return { theme, themePreference, followsSystem, systemTheme, locale, followSystem };
});
