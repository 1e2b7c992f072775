// The auto-refresh switch of the monitor pages: a tick every few seconds while it is on, a first
// load when the page mounts, and no timer left once the page is gone.
import { onBeforeUnmount, onMounted, ref, watch, type Ref } from 'vue';

export interface AutoRefreshOptions {
  /** Interval of the ticks (default 5 s). */
  everyMs?: number;
  /** The load when the page mounts (default: one tick). */
  initial?: () => void;
}

/** Returns the switch (on at first). */
export function useAutoRefresh(tick: () => void, options: AutoRefreshOptions = {}): Ref<boolean> {
  const auto = ref(true);
  let timer: ReturnType<typeof setInterval> | null = null;

  function schedule(): void {
    if (timer) clearInterval(timer);
    timer = auto.value ? setInterval(tick, options.everyMs ?? 5000) : null;
  }

  onMounted(() => {
    (options.initial ?? tick)();
    schedule();
  });
  onBeforeUnmount(() => {
    if (timer) clearInterval(timer);
  });
  watch(auto, schedule);
  return auto;
}
