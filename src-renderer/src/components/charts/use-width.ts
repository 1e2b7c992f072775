// The rendered width of an element, kept up to date: the charts draw in real pixels so their text
// stays the page's size whatever the card's width.
import { onBeforeUnmount, onMounted, ref, type Ref } from 'vue';

export function useWidth(fallback = 640): { el: Ref<HTMLElement | null>; width: Ref<number> } {
  const el = ref<HTMLElement | null>(null);
  const width = ref(fallback);
  let observer: ResizeObserver | null = null;
  onMounted(() => {
    if (!el.value) return;
    width.value = Math.max(200, Math.round(el.value.clientWidth) || fallback);
    observer = new ResizeObserver((entries) => {
      const w = entries[0]?.contentRect.width;
      if (w && w > 0) width.value = Math.max(200, Math.round(w));
    });
    observer.observe(el.value);
  });
  onBeforeUnmount(() => observer?.disconnect());
  return { el, width };
}
