import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router';
import ComingSoonView from './views/ComingSoonView.vue';
import OverviewView from './views/OverviewView.vue';

declare module 'vue-router' {
  interface RouteMeta {
    /** vue-i18n key of the page title, shown in the navigation and the page heading. */
    titleKey: string;
  }
}

/** Left navigation, in order. The console issue swaps each ComingSoonView for its page. */
export const NAV_ROUTES = [
  { path: '/overview', name: 'overview', component: OverviewView, meta: { titleKey: 'nav.overview' } },
  { path: '/topics', name: 'topics', component: ComingSoonView, meta: { titleKey: 'nav.topics' } },
  { path: '/consumer-groups', name: 'consumer-groups', component: ComingSoonView, meta: { titleKey: 'nav.consumerGroups' } },
  { path: '/messages', name: 'messages', component: ComingSoonView, meta: { titleKey: 'nav.messages' } },
  { path: '/playground', name: 'playground', component: ComingSoonView, meta: { titleKey: 'nav.playground' } },
  { path: '/settings', name: 'settings', component: ComingSoonView, meta: { titleKey: 'nav.settings' } },
] satisfies RouteRecordRaw[];

// Hash history: app://console and the headless server both serve one index.html, no rewrites.
export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/', redirect: '/overview' },
    ...NAV_ROUTES,
    { path: '/:pathMatch(.*)*', redirect: '/overview' },
  ],
});
